#pragma once
// The egress CA: one per user, generated once and kept in bottle's state.
// bottle-egress signs the certificates it presents to bottles with it, and every
// bottle trusts it through the agent CA bundle (system roots + this CA).
//
// The file names are the ones mitmproxy used (bottle's egress before bottle-egress),
// so a CA made then stays valid:
//   <state>/ca/                       0700
//   <state>/ca/mitmproxy-ca.pem       0600  PEM private key, then the certificate
//   <state>/ca/mitmproxy-ca-cert.pem  0644  the certificate alone
// Each bottle's egress gets its own copy (egress_setup.hpp).

#include <filesystem>
#include <string>
#include <string_view>

#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"

namespace bottle {

struct EgressCa {
  std::filesystem::path dir;           ///< <state>/ca
  std::filesystem::path key_and_cert;  ///< mitmproxy-ca.pem (secret: never copy into a bottle)
  std::filesystem::path cert;          ///< mitmproxy-ca-cert.pem
  std::string cert_pem;                ///< the certificate, one PEM block
  bool created = false;                ///< true when this call generated the CA
};

/// Make sure the user's egress CA exists and return it.
///  - Neither file present: generate an RSA-2048 key and a self-signed certificate
///    (CN "bottle egress CA (<hostname>)", basicConstraints critical CA:TRUE,
///    keyUsage critical keyCertSign+cRLSign, SHA-256, 3650 days) with `openssl`
///    through `runner`. The key is only ever in files under a 0700 scratch
///    directory and in memory, never in an argv; the finished files are moved
///    into place with rename, so a crash leaves no partial CA.
///  - mitmproxy-ca.pem present: reuse it after checking with openssl that it holds
///    a private key and a matching, unexpired CA certificate. The cert-only file is
///    re-derived if missing; if present it must hold the same certificate.
/// Never silently replaces an existing CA: a corrupt, mismatched or expired one is
/// Error(invalid_input) naming the file (remove the directory to start over; running
/// bottles then need a restart to trust the new CA). Error(backend) when openssl
/// cannot be run, Error(io) for file system failures.
EgressCa ensure_egress_ca(Runner& runner, const StateDirs& dirs);

/// Where ensure_egress_ca() keeps the CA (dir, key_and_cert, cert; cert_pem empty).
/// Checks and creates nothing.
EgressCa egress_ca_paths(const StateDirs& dirs);

/// Where the host keeps its system roots (Debian and derivatives).
inline constexpr std::string_view default_system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

/// The host's system root bundle. Throws Error(not_found) naming the file when it
/// is missing (install ca-certificates), Error(io) when unreadable.
std::string read_system_ca_bundle(const std::filesystem::path& path = std::filesystem::path(default_system_ca_bundle));

/// The agent CA bundle installed in bottles: the system roots followed by the
/// egress CA certificate (skipped if the roots already contain it), newline
/// separated. It is a *full* bundle on purpose: SSL_CERT_FILE replaces a client's
/// roots, and hosts that egress does not intercept still present public
/// certificates. Throws Error(invalid_input) when the system bundle holds no
/// certificate or the egress CA is not exactly one certificate, and Error(internal)
/// if either input contains a private key (it must never reach a bottle).
std::string build_agent_ca_bundle(const std::string& system_bundle_pem, const std::string& egress_ca_cert_pem);

}  // namespace bottle
