#include "bottle/egress/leaf_cert.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "bottle/core/error.hpp"
#include "bottle/egress/http_request.hpp"

namespace bottle {

namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

Error ca_error(const std::string& problem) { return Error(ErrorKind::invalid_input, "egress CA", problem); }
Error mint_error(const std::string& problem) { return Error(ErrorKind::internal, "leaf certificate", problem); }

Bio memory_bio(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw mint_error("out of memory");
  return bio;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  Extension ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) throw mint_error("cannot add extension " + value);
}

std::int64_t asn1_unix(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) throw ca_error("the certificate's expiry cannot be read");
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

struct LeafMinter::Keys {
  Pkey ca_key;
  X509Ptr ca_cert;
  Pkey leaf_key;
  std::int64_t ca_not_after = 0;
};

LeafMinter::LeafMinter(std::string_view ca_pem, std::chrono::seconds lifetime)
    : keys_(std::make_unique<Keys>()), lifetime_(lifetime) {
  keys_->ca_key.reset(PEM_read_bio_PrivateKey(memory_bio(ca_pem).get(), nullptr, nullptr, nullptr));
  if (!keys_->ca_key) throw ca_error("no private key in the CA file");
  keys_->ca_cert.reset(PEM_read_bio_X509(memory_bio(ca_pem).get(), nullptr, nullptr, nullptr));
  if (!keys_->ca_cert) throw ca_error("no certificate in the CA file");
  if (X509_check_private_key(keys_->ca_cert.get(), keys_->ca_key.get()) != 1)
    throw ca_error("the private key does not match the certificate");
  keys_->ca_not_after = asn1_unix(X509_get0_notAfter(keys_->ca_cert.get()));
  keys_->leaf_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!keys_->leaf_key) throw mint_error("cannot generate the leaf key");
}

LeafMinter::~LeafMinter() = default;

evp_pkey_st* LeafMinter::key() const { return keys_->leaf_key.get(); }

std::string LeafMinter::key_pem() const {
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), keys_->leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw mint_error("cannot write the leaf key");
  return bio_text(out.get());
}

const MintedLeaf& LeafMinter::leaf_for(std::string_view host, std::int64_t now_unix) {
  // Only a name parse_authority accepts, as it would read it: lowercase, no port.
  const auto authority = parse_authority(host, 443);
  if (!authority || authority->host != host)
    throw Error(ErrorKind::invalid_input, "host", "not a host name or IP address a certificate can be minted for");
  const std::int64_t lifetime = lifetime_.count();
  if (const auto cached = cache_.find(host);
      cached != cache_.end() && now_unix < cached->second.not_after_unix - lifetime / 2)
    return cached->second;

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) throw mint_error("out of memory");
  Bignum serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    throw mint_error("cannot make a serial number");
  const std::int64_t not_after = std::min(now_unix + lifetime, keys_->ca_not_after);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now_unix - 3600)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)))
    throw mint_error("cannot set the validity");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const std::string name(host);
  // CN is capped at 64 characters; clients check the subjectAltName anyway.
  if (name.size() <= 64 &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                                 -1, 0) != 1)
    throw mint_error("cannot set the subject");
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(keys_->ca_cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), keys_->leaf_key.get()) != 1)
    throw mint_error("cannot set issuer or key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, keys_->ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string address = name;
  if (authority->is_ip_literal && address.front() == '[') address = address.substr(1, address.size() - 2);
  add_extension(cert.get(), &ctx, NID_subject_alt_name, (authority->is_ip_literal ? "IP:" : "DNS:") + address);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), keys_->ca_key.get(), EVP_sha256()) <= 0) throw mint_error("cannot sign");

  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) throw mint_error("cannot write the certificate");
  MintedLeaf leaf{bio_text(out.get()), not_after, std::shared_ptr<x509_st>(cert.release(), X509_free)};
  return cache_.insert_or_assign(name, std::move(leaf)).first->second;
}

}  // namespace bottle
