#include "bottle/egress/egress_ca.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <vector>

#include "bottle/core/error.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view key_and_cert_name = "mitmproxy-ca.pem";
constexpr std::string_view cert_name = "mitmproxy-ca-cert.pem";

struct PemBlock {
  std::string label;  ///< "CERTIFICATE", "PRIVATE KEY", ...
  std::string text;   ///< BEGIN line to END line, with a trailing newline
};

// Split PEM text into its blocks; text between blocks is ignored, as OpenSSL does.
// An unterminated block ends the scan (the caller then sees too few blocks).
std::vector<PemBlock> pem_blocks(std::string_view text) {
  constexpr std::string_view begin = "-----BEGIN ";
  constexpr std::string_view dashes = "-----";
  std::vector<PemBlock> blocks;
  std::size_t pos = 0;
  while ((pos = text.find(begin, pos)) != std::string_view::npos) {
    const std::size_t label_start = pos + begin.size();
    const std::size_t label_end = text.find(dashes, label_start);
    if (label_end == std::string_view::npos) break;
    const std::string label(text.substr(label_start, label_end - label_start));
    const std::string end_marker = "-----END " + label + "-----";
    const std::size_t end = text.find(end_marker, label_end);
    if (end == std::string_view::npos) break;
    const std::size_t stop = end + end_marker.size();
    blocks.push_back({label, std::string(text.substr(pos, stop - pos)) + "\n"});
    pos = stop;
  }
  return blocks;
}

bool is_private_key(const PemBlock& b) {
  constexpr std::string_view suffix = "PRIVATE KEY";
  return b.label.size() >= suffix.size() && b.label.compare(b.label.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<PemBlock> blocks_labelled(const std::vector<PemBlock>& blocks, bool private_keys) {
  std::vector<PemBlock> out;
  for (const auto& b : blocks)
    if (private_keys ? is_private_key(b) : b.label == "CERTIFICATE") out.push_back(b);
  return out;
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Every openssl invocation takes file paths only: key material travels through
// files in private directories, never through an argv or the environment.
ProcessResult run_openssl(Runner& runner, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  ProcessResult r = runner.run(Command{.argv = args});
  if (!r.started())
    throw Error(ErrorKind::backend, fmt::format("could not run openssl (needed for the egress CA): {}", r.start_error));
  return r;
}

void run_openssl_checked(Runner& runner, std::vector<std::string> args, std::string_view what) {
  const ProcessResult r = run_openssl(runner, std::move(args));
  if (!r.ok())
    throw Error(ErrorKind::backend, fmt::format("openssl could not {} (status {}): {}", what, r.shell_status(),
                                                first_line(r.err.empty() ? r.out : r.err)));
}

[[noreturn]] void corrupt(const fs::path& file, std::string_view problem, const fs::path& dir) {
  throw Error(ErrorKind::invalid_input,
              fmt::format("egress CA {}: {}; fix it, or remove {} to generate a new CA (running bottles then "
                          "need a restart to trust it)",
                          file.string(), problem, dir.string()));
}

// The CN carries the host name so a user who finds the CA in some trust store can
// tell which machine made it. Only characters that need no escaping in an
// openssl config file are kept.
std::string ca_common_name() {
  char buffer[256] = {};
  std::string host;
  if (::gethostname(buffer, sizeof buffer - 1) == 0) host = buffer;
  std::string clean;
  for (const char c : host)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-') clean += c;
  if (clean.empty()) clean = "unknown host";
  return fmt::format("bottle egress CA ({})", clean.substr(0, 64));
}

class ScratchDir {
 public:
  explicit ScratchDir(const fs::path& parent) {
    std::string pattern = (parent / ".egress-ca-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw Error(ErrorKind::io,
                  fmt::format("could not create a scratch directory in {}: {}", parent.string(), std::strerror(errno)));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

EgressCa paths_of(const fs::path& dir) {
  EgressCa ca;
  ca.dir = dir;
  ca.key_and_cert = dir / std::string(key_and_cert_name);
  ca.cert = dir / std::string(cert_name);
  return ca;
}

// Check an existing CA and fill in cert_pem. Never modifies mitmproxy-ca.pem.
void load_existing(Runner& runner, EgressCa& ca) {
  const std::vector<PemBlock> blocks = pem_blocks(read_file(ca.key_and_cert));
  const auto keys = blocks_labelled(blocks, true);
  const auto certs = blocks_labelled(blocks, false);
  if (keys.size() != 1 || certs.empty())
    corrupt(ca.key_and_cert, "expected one PEM private key followed by the CA certificate", ca.dir);
  const std::string file = ca.key_and_cert.string();

  const ProcessResult text = run_openssl(runner, {"x509", "-in", file, "-noout", "-text"});
  if (!text.ok()) corrupt(ca.key_and_cert, "the certificate cannot be parsed", ca.dir);
  if (text.out.find("CA:TRUE") == std::string::npos)
    corrupt(ca.key_and_cert, "the certificate is not a CA certificate", ca.dir);
  if (!run_openssl(runner, {"x509", "-in", file, "-noout", "-checkend", "0"}).ok())
    corrupt(ca.key_and_cert, "the certificate has expired", ca.dir);
  // Public halves only: the key is read by openssl from the file.
  const ProcessResult key_pub = run_openssl(runner, {"pkey", "-in", file, "-passin", "pass:", "-pubout"});
  if (!key_pub.ok()) corrupt(ca.key_and_cert, "the private key cannot be parsed", ca.dir);
  const ProcessResult cert_pub = run_openssl(runner, {"x509", "-in", file, "-noout", "-pubkey"});
  if (!cert_pub.ok() || cert_pub.out != key_pub.out)
    corrupt(ca.key_and_cert, "the private key does not match the certificate", ca.dir);
  ca.cert_pem = certs.front().text;

  std::error_code ec;
  if (!fs::exists(ca.cert, ec)) {
    // Derived data (e.g. a crash between the two writes): re-derive, do not fail.
    write_file_atomic(ca.cert, ca.cert_pem, 0644);
    return;
  }
  const auto cert_blocks = pem_blocks(read_file(ca.cert));
  if (cert_blocks.size() != 1 || cert_blocks.front().text != ca.cert_pem)
    corrupt(ca.cert, fmt::format("does not hold exactly the certificate in {}", key_and_cert_name), ca.dir);
}

// Generate into a scratch directory, then link the combined file into place: link
// never replaces, so a concurrent generator cannot be overwritten, and the CA
// appears whole or not at all.
bool generate(Runner& runner, const StateDirs& dirs, EgressCa& ca) {
  make_private_dirs(dirs.state);
  ScratchDir scratch(dirs.state);
  const fs::path config = scratch.path() / "req.cnf";
  const fs::path key = scratch.path() / "key.pem";
  const fs::path cert = scratch.path() / "cert.pem";
  write_file_atomic(config,
                    fmt::format("[req]\nprompt = no\ndistinguished_name = dn\nx509_extensions = v3_ca\n"
                                "[dn]\nCN = {}\n"
                                "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
                                "keyUsage = critical,keyCertSign,cRLSign\n"
                                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n",
                                ca_common_name()),
                    0600);
  // RSA-2048 is what mitmproxy itself generates; older mitmproxy releases assume it.
  run_openssl_checked(runner,
                      {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.string()},
                      "generate the egress CA key");
  run_openssl_checked(runner,
                      {"req", "-new", "-x509", "-config", config.string(), "-key", key.string(), "-sha256", "-days",
                       "3650", "-out", cert.string()},
                      "create the egress CA certificate");
  const auto key_blocks = blocks_labelled(pem_blocks(read_file(key)), true);
  const auto cert_blocks = blocks_labelled(pem_blocks(read_file(cert)), false);
  if (key_blocks.size() != 1 || cert_blocks.size() != 1)
    throw Error(ErrorKind::backend, "openssl produced an unexpected egress CA (expected one key and one certificate)");
  const fs::path combined = scratch.path() / std::string(key_and_cert_name);
  write_file_atomic(combined, key_blocks.front().text + cert_blocks.front().text, 0600);

  make_private_dirs(ca.dir);
  if (::link(combined.c_str(), ca.key_and_cert.c_str()) != 0) {
    if (errno == EEXIST) return false;  // someone else just made one: use theirs
    throw Error(ErrorKind::io, fmt::format("could not install {}: {}", ca.key_and_cert.string(), std::strerror(errno)));
  }
  ca.cert_pem = cert_blocks.front().text;
  write_file_atomic(ca.cert, ca.cert_pem, 0644);
  ca.created = true;
  return true;
}

}  // namespace

EgressCa egress_ca_paths(const StateDirs& dirs) { return paths_of(dirs.state / "ca"); }

EgressCa ensure_egress_ca(Runner& runner, const StateDirs& dirs) {
  EgressCa ca = egress_ca_paths(dirs);
  std::error_code ec;
  const bool have_key = fs::exists(ca.key_and_cert, ec);
  if (!have_key && fs::exists(ca.cert, ec))
    corrupt(ca.key_and_cert, fmt::format("missing, but {} exists", cert_name), ca.dir);
  if (!have_key && generate(runner, dirs, ca)) return ca;
  load_existing(runner, ca);
  return ca;
}

std::string read_system_ca_bundle(const fs::path& path) {
  try {
    return read_file(path);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found)
      throw Error(
          ErrorKind::not_found,
          fmt::format("system CA bundle {}: no such file (install the ca-certificates package)", path.string()));
    throw;
  }
}

std::string build_agent_ca_bundle(const std::string& system_bundle_pem, const std::string& egress_ca_cert_pem) {
  const auto system_blocks = pem_blocks(system_bundle_pem);
  const auto egress_blocks = pem_blocks(egress_ca_cert_pem);
  for (const auto* blocks : {&system_blocks, &egress_blocks})
    for (const auto& b : *blocks)
      if (is_private_key(b)) throw Error(ErrorKind::internal, "agent CA bundle: refusing to include a private key");
  if (blocks_labelled(system_blocks, false).empty())
    throw Error(ErrorKind::invalid_input, "agent CA bundle: the system bundle holds no certificate");
  if (egress_blocks.size() != 1 || egress_blocks.front().label != "CERTIFICATE")
    throw Error(ErrorKind::invalid_input, "agent CA bundle: the egress CA must be exactly one certificate");

  std::string bundle = system_bundle_pem;
  if (!bundle.empty() && bundle.back() != '\n') bundle += '\n';
  const std::string& ca = egress_blocks.front().text;
  for (const auto& b : system_blocks)
    if (b.text == ca) return bundle;  // the host already trusts it
  return bundle + ca;
}

}  // namespace bottle
