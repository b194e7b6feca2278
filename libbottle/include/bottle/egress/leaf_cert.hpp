#pragma once
// Leaf certificates for bottle-egress: when egress terminates an agent's TLS for a
// host, it presents a certificate for exactly that host, signed by the user's egress
// CA (egress_ca.hpp), which every bottle trusts. One EC P-256 key serves every leaf;
// each host's certificate is minted once and cached until half its lifetime is gone.
//
// A leaf: X.509 v3, random 128-bit serial, subject CN = host (when it fits, 64
// characters), subjectAltName DNS:host or IP:address, basicConstraints critical
// CA:FALSE, keyUsage critical digitalSignature, extendedKeyUsage serverAuth,
// subject and authority key identifiers, SHA-256, valid from an hour before `now`
// for `lifetime` (never past the CA's own expiry).
//
// Only names parse_authority() accepts are minted (a DNS name of [a-z0-9._-] or an
// IP literal), so nothing a bottle sends can add a second subjectAltName (a "," in
// the host) or a wildcard.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

// OpenSSL's types, declared so this header does not pull in OpenSSL's.
struct x509_st;
struct evp_pkey_st;

namespace bottle {

struct MintedLeaf {
  std::string cert_pem;
  std::int64_t not_after_unix = 0;
  std::shared_ptr<x509_st> x509;  ///< for handing to a TLS context
};

class LeafMinter {
 public:
  /// `ca_pem` holds the CA's private key and certificate (mitmproxy-ca.pem). Throws
  /// Error(invalid_input) naming "egress CA" when either is missing or they do not match.
  explicit LeafMinter(std::string_view ca_pem, std::chrono::seconds lifetime = std::chrono::hours(24 * 30));
  ~LeafMinter();
  LeafMinter(const LeafMinter&) = delete;
  LeafMinter& operator=(const LeafMinter&) = delete;

  /// The leaf for `host` at time `now_unix` (cached). Error(invalid_input) naming
  /// "host" for a name this minter refuses.
  const MintedLeaf& leaf_for(std::string_view host, std::int64_t now_unix);
  /// The shared leaf private key, PEM (PKCS#8), for the TLS context.
  std::string key_pem() const;
  /// The shared leaf key, for handing to a TLS context.
  evp_pkey_st* key() const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::chrono::seconds lifetime_;
  std::map<std::string, MintedLeaf, std::less<>> cache_;
};

}  // namespace bottle
