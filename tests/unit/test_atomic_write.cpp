// write_file_atomic under injected failures, and the permissions and stale-temp
// rules of bottle's state files. What must hold after any failure: the old file is
// byte-identical with its mode, and no temporary file is left in the directory.
#include <catch2/catch.hpp>

#include <exception>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void spit(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Sets a resource limit for its lifetime.
class ScopedLimit {
 public:
  ScopedLimit(int resource, rlim_t soft) : resource_(resource) {
    REQUIRE(::getrlimit(resource_, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(resource_, &lowered) == 0);
  }
  ~ScopedLimit() { ::setrlimit(resource_, &saved_); }
  ScopedLimit(const ScopedLimit&) = delete;
  ScopedLimit& operator=(const ScopedLimit&) = delete;

 private:
  int resource_;
  rlimit saved_{};
};

class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t saved_;
};

// A tmpfs of `bytes` mounted on `dir` for the test's lifetime (needs root, which the
// test suite runs as).
class TinyTmpfs {
 public:
  TinyTmpfs(const fs::path& dir, std::size_t bytes) : dir_(dir) {
    fs::create_directories(dir_);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TinyTmpfs(const TinyTmpfs&) = delete;
  TinyTmpfs& operator=(const TinyTmpfs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("atomic write: a write cut short by the file size limit keeps the old file and leaves no temp",
          "[state][atomic_write]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "spec.json";
  write_file_atomic(file, "{\"old\": true}\n", 0640);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  {
    ScopedLimit limit(RLIMIT_FSIZE, 4096);
    try {
      write_file_atomic(file, std::string(1 << 20, 'x'), 0600);
      FAIL("the write went through");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::io);
      CHECK_THAT(e.what(), Catch::Contains("could not write " + file.string()) && Catch::Contains("too large"));
    }
  }
  ::signal(SIGXFSZ, old_handler);
  CHECK(read_file(file) == "{\"old\": true}\n");
  CHECK(mode_of(file) == 0640);
  CHECK(entries(tmp.path()) == std::vector<std::string>{"spec.json"});
}

TEST_CASE("atomic write: a full file system keeps the old file and leaves no temp", "[state][atomic_write]") {
  TempDir tmp;
  const fs::path mount_point = tmp.path() / "tiny";
  TinyTmpfs tiny(mount_point, 64 * 1024);
  INFO("mounting a tmpfs needs root, as scripts/test.sh runs the suite");
  REQUIRE(tiny.mounted());
  const fs::path file = mount_point / "bottles" / "credentials.json";
  write_file_atomic(file, std::string(16 * 1024, 'o'), 0600);
  try {
    write_file_atomic(file, std::string(256 * 1024, 'n'), 0600);
    FAIL("the write went through");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::io);
    CHECK_THAT(e.what(), Catch::Contains(file.string()) && Catch::Contains("No space left"));
  }
  CHECK(read_file(file) == std::string(16 * 1024, 'o'));
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(file.parent_path()) == 0700);
  CHECK(entries(file.parent_path()) == std::vector<std::string>{"credentials.json"});
  // The space of the failed temp file was given back: a write that fits succeeds.
  write_file_atomic(file, std::string(20 * 1024, 'n'), 0600);
  CHECK(read_file(file) == std::string(20 * 1024, 'n'));
}

TEST_CASE("atomic write: no temp file can be created, or the rename fails, and the old file is intact",
          "[state][atomic_write]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "spec.json";
  write_file_atomic(file, "old", 0600);

  SECTION("out of file descriptors") {
    // UBSan checks an object's dynamic type on first use, which needs a free
    // descriptor: it sees an Error now, and the failure is examined only once the
    // limit is lifted.
    CHECK(Error(ErrorKind::io, "warm-up").kind() == ErrorKind::io);
    std::exception_ptr failure;
    {
      // Every descriptor below the limit is in use, so mkstemp gets EMFILE.
      const int lowest_free = ::fcntl(2, F_DUPFD, 0);
      REQUIRE(lowest_free >= 0);
      ::close(lowest_free);
      ScopedLimit limit(RLIMIT_NOFILE, static_cast<rlim_t>(lowest_free));
      try {
        write_file_atomic(file, "new", 0600);
      } catch (...) { failure = std::current_exception(); }
    }
    REQUIRE(failure);
    CHECK_THROWS_WITH(std::rethrow_exception(failure), Catch::Contains("temporary file"));
    CHECK(entries(tmp.path()) == std::vector<std::string>{"spec.json"});
  }
  SECTION("the parent is a file") {
    const fs::path inside = file / "child.json";
    CHECK_THROWS_AS(write_file_atomic(inside, "new", 0600), Error);
    CHECK(entries(tmp.path()) == std::vector<std::string>{"spec.json"});
  }
  SECTION("the target is a non-empty directory") {
    fs::create_directories(tmp.path() / "dir.json" / "x");
    CHECK_THROWS_WITH(write_file_atomic(tmp.path() / "dir.json", "new", 0600),
                      Catch::Contains("could not replace " + (tmp.path() / "dir.json").string()));
    CHECK(entries(tmp.path()) == std::vector<std::string>{"dir.json", "spec.json"});
  }
  CHECK(read_file(file) == "old");
  CHECK(mode_of(file) == 0600);
}

TEST_CASE("atomic write: modes are exactly as asked whatever the umask, new directories 0700",
          "[state][atomic_write]") {
  TempDir tmp;
  {
    ScopedUmask open_umask(0);
    write_file_atomic(tmp.path() / "a" / "b" / "f", "x", 0600);
    CHECK(mode_of(tmp.path() / "a") == 0700);
    CHECK(mode_of(tmp.path() / "a" / "b") == 0700);
    CHECK(mode_of(tmp.path() / "a" / "b" / "f") == 0600);
  }
  {
    ScopedUmask strict_umask(077);
    write_file_atomic(tmp.path() / "a" / "b" / "cert.pem", "x", 0644);
    CHECK(mode_of(tmp.path() / "a" / "b" / "cert.pem") == 0644);
  }
  // A rewrite sets the asked mode, not the old file's.
  spit(tmp.path() / "loose", "old");
  fs::permissions(tmp.path() / "loose", fs::perms::all);
  write_file_atomic(tmp.path() / "loose", "new", 0600);
  CHECK(mode_of(tmp.path() / "loose") == 0600);
  // The new content is a new inode: a reader holding the old file keeps it whole.
  std::ifstream reader(tmp.path() / "loose");
  write_file_atomic(tmp.path() / "loose", "newer", 0600);
  std::string seen;
  reader >> seen;
  CHECK(seen == "new");
}

TEST_CASE("atomic write: a stale temp file of the same target is removed by the next write, nothing else is",
          "[state][atomic_write]") {
  TempDir tmp;
  const auto backdate = [](const fs::path& p) {
    fs::last_write_time(p, fs::file_time_type::clock::now() - stale_temp_age - std::chrono::minutes(1));
  };
  for (const std::string name : {".spec.json.tmp-AbC123", ".spec.json.tmp-Fresh1", ".other.json.tmp-AbC123",
                                 "spec.json.tmp-AbC123", ".spec.json.tmp-TooLong1"}) {
    spit(tmp.path() / name, "partial");
    if (name != ".spec.json.tmp-Fresh1") backdate(tmp.path() / name);
  }
  fs::create_directory(tmp.path() / ".spec.json.tmp-Dir123");
  backdate(tmp.path() / ".spec.json.tmp-Dir123");
  write_file_atomic(tmp.path() / "spec.json", "{}", 0600);
  CHECK(entries(tmp.path()) == std::vector<std::string>{".other.json.tmp-AbC123", ".spec.json.tmp-Dir123",
                                                        ".spec.json.tmp-Fresh1", ".spec.json.tmp-TooLong1", "spec.json",
                                                        "spec.json.tmp-AbC123"});
}

TEST_CASE("atomic write: concurrent writers never expose a partial file", "[state][atomic_write]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "state.json";
  std::vector<std::string> contents;
  for (int i = 0; i < 4; ++i) contents.push_back(std::string(200000 + i * 1000, static_cast<char>('a' + i)));
  write_file_atomic(file, contents[0], 0600);
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0}, reads{0};
  std::thread reader([&] {
    while (!done) {
      const std::string seen = read_file(file);
      ++reads;
      if (std::find(contents.begin(), contents.end(), seen) == contents.end()) ++bad_reads;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) write_file_atomic(file, contents[static_cast<std::size_t>((w + i) % 4)], 0600);
    });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  CHECK(reads > 0);
  CHECK(bad_reads == 0);
  CHECK(entries(tmp.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("read_file: a directory is an error naming it, not an empty file", "[state][atomic_write]") {
  TempDir tmp;
  CHECK_THROWS_WITH(read_file(tmp.path()), Catch::Contains("could not read " + tmp.path().string()));
  CHECK_THROWS_AS(read_file(tmp.path() / "missing"), Error);
  try {
    read_file(tmp.path() / "missing");
  } catch (const Error& e) { CHECK(e.kind() == ErrorKind::not_found); }
}

TEST_CASE("spec store: a corrupt file under a name is neither free nor silently taken", "[state][atomic_write]") {
  TempDir tmp;
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  SpecStore store(dirs);
  CHECK_FALSE(store.exists("api"));
  BottleSpec s;
  s.name = "api";
  store.save(s);
  CHECK(store.exists("api"));
  const fs::path path = dirs.spec_path("api");
  spit(path, "{\"name\": \"api\", ");
  CHECK_THROWS_WITH(store.exists("api"), Catch::Contains(path.string()) && Catch::Contains("corrupt"));
  fs::remove(path);
  fs::create_symlink(tmp.path() / "nowhere.json", path);
  CHECK_THROWS_WITH(store.exists("api"), Catch::Contains(path.string()) && Catch::Contains("dangling"));
  fs::remove(path);
  fs::create_directory(path);
  CHECK_THROWS_WITH(store.exists("api"), Catch::Contains(path.string()));
  CHECK_THROWS_WITH(store.load_all(), Catch::Contains(path.string()));
  // A leftover temporary file is not a bottle.
  fs::remove(path);
  store.save(s);
  spit(path.parent_path() / ".api.json.tmp-Xy12Zq", "{\"name\": \"api\", \"back");
  REQUIRE(store.load_all().size() == 1);
  CHECK(store.load_all().front() == s);
}
