// Leaf certificates egress presents to bottles: each verifies against the egress CA
// for exactly its host, as a TLS client (OpenSSL's own verifier) would check it.
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "bottle/core/error.hpp"
#include "bottle/egress/leaf_cert.hpp"

namespace {

constexpr std::int64_t now = 1'800'000'000;  // 2027-01-15

// A CA like ensure_egress_ca's (RSA-2048, CA:TRUE, keyCertSign), valid for `days` from `now`.
std::string make_ca_pem(long days) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - 86400));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + days * 86400));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("bottle egress CA (test)"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:TRUE"}, std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
        std::pair{NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(out.get(), cert.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

X509* read_cert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr);
}

// What a TLS client checks: chain to the CA, the name, server purpose, time.
bool verifies(const std::string& ca_pem, const std::string& leaf_pem, const std::string& host, std::int64_t at,
              bool is_ip = false) {
  std::unique_ptr<X509, decltype(&X509_free)> ca(read_cert(ca_pem), X509_free);
  std::unique_ptr<X509, decltype(&X509_free)> leaf(read_cert(leaf_pem), X509_free);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  else X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at));
  return X509_verify_cert(ctx.get()) == 1;
}

}  // namespace

TEST_CASE("leaf cert: a leaf verifies for its host only, as a server certificate, within its lifetime",
          "[egress-leaf]") {
  const std::string ca = make_ca_pem(3650);
  bottle::LeafMinter minter(ca, std::chrono::hours(24 * 30));
  const bottle::MintedLeaf& leaf = minter.leaf_for("api.anthropic.com", now);
  CHECK(verifies(ca, leaf.cert_pem, "api.anthropic.com", now));
  CHECK(verifies(ca, leaf.cert_pem, "api.anthropic.com", now + 29 * 86400));
  CHECK_FALSE(verifies(ca, leaf.cert_pem, "api.anthropic.com", now + 31 * 86400));
  CHECK_FALSE(verifies(ca, leaf.cert_pem, "evil.test", now));
  CHECK_FALSE(verifies(ca, leaf.cert_pem, "x.api.anthropic.com", now));
  CHECK_FALSE(verifies(make_ca_pem(3650), leaf.cert_pem, "api.anthropic.com", now));  // another CA
  CHECK(leaf.not_after_unix == now + 30 * 86400);

  // It is no CA: a certificate it signed would not verify (basicConstraints CA:FALSE).
  std::unique_ptr<X509, decltype(&X509_free)> parsed(read_cert(leaf.cert_pem), X509_free);
  CHECK(X509_check_ca(parsed.get()) == 0);
  CHECK(leaf.cert_pem.find("PRIVATE KEY") == std::string::npos);
  CHECK(minter.key_pem().rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
}

TEST_CASE("leaf cert: IP literals get an IP subjectAltName", "[egress-leaf]") {
  const std::string ca = make_ca_pem(3650);
  bottle::LeafMinter minter(ca);
  CHECK(verifies(ca, minter.leaf_for("10.0.0.7", now).cert_pem, "10.0.0.7", now, true));
  CHECK(verifies(ca, minter.leaf_for("[::1]", now).cert_pem, "::1", now, true));
  CHECK_FALSE(verifies(ca, minter.leaf_for("10.0.0.7", now).cert_pem, "10.0.0.8", now, true));
}

TEST_CASE("leaf cert: leaves are cached per host and re-minted past half their lifetime", "[egress-leaf]") {
  bottle::LeafMinter minter(make_ca_pem(3650), std::chrono::hours(24 * 30));
  const std::string first = minter.leaf_for("chatgpt.com", now).cert_pem;
  CHECK(minter.leaf_for("chatgpt.com", now + 14 * 86400).cert_pem == first);
  CHECK(minter.leaf_for("chatgpt.com", now + 16 * 86400).cert_pem != first);
  CHECK(minter.leaf_for("api.openai.com", now).cert_pem != first);
}

TEST_CASE("leaf cert: a leaf never outlives the CA", "[egress-leaf]") {
  const std::string ca = make_ca_pem(10);
  bottle::LeafMinter minter(ca, std::chrono::hours(24 * 30));
  const bottle::MintedLeaf& leaf = minter.leaf_for("chatgpt.com", now);
  CHECK(leaf.not_after_unix == now + 10 * 86400);
  CHECK(verifies(ca, leaf.cert_pem, "chatgpt.com", now + 9 * 86400));
}

TEST_CASE("leaf cert: a name that could add a second subjectAltName or a wildcard is refused", "[egress-leaf]") {
  bottle::LeafMinter minter(make_ca_pem(3650));
  for (const char* bad : {"a.test,DNS:evil.test", "*.example.com", "Example.com", "example.com:443", "a b.test", "",
                          "a.test\nDNS:evil", "::1", "example..com"}) {
    INFO(bad);
    CHECK_THROWS_AS(minter.leaf_for(bad, now), bottle::Error);
  }
}

TEST_CASE("leaf cert: a broken CA file is refused, naming the egress CA", "[egress-leaf]") {
  const std::string ca = make_ca_pem(3650);
  const std::string cert_only = ca.substr(ca.find("-----BEGIN CERTIFICATE"));
  const std::string key_only = ca.substr(0, ca.find("-----BEGIN CERTIFICATE"));
  CHECK_THROWS_WITH(bottle::LeafMinter(cert_only), Catch::Contains("egress CA") && Catch::Contains("no private key"));
  CHECK_THROWS_WITH(bottle::LeafMinter(key_only), Catch::Contains("no certificate"));
  const std::string other = make_ca_pem(3650);
  CHECK_THROWS_WITH(bottle::LeafMinter(key_only + other.substr(other.find("-----BEGIN CERTIFICATE"))),
                    Catch::Contains("does not match"));
}
