// Self-pipe for signals, so the exec loops can wait on signals and fds in one poll().
#pragma once

#include <initializer_list>
#include <vector>

namespace fake_smolvm {

class SignalPipe {
 public:
  // Installs handlers for `signals` (SA_RESTART off, so blocking calls wake up).
  explicit SignalPipe(std::initializer_list<int> signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  [[nodiscard]] int read_fd() const;
  // Signals delivered since the last call, in arrival order.
  std::vector<int> drain() const;

 private:
  std::vector<int> signals_;
};

}  // namespace fake_smolvm
