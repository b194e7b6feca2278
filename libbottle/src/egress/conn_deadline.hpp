#pragma once
// A connection's deadline without a timer per operation (private to libbottle's
// egress). Beast's stream timeout arms, cancels and re-arms a timer around every read
// and write (a timerfd_settime each time); a proxy reads and writes several times
// per request. Here moving the deadline is a store, and one timer per connection
// fires at most once per timeout: when it finds the deadline moved later it sleeps
// again. As with Beast, the deadline counts only while an operation is pending (a
// Pending lives across it); one that passed in between makes the next operation
// fail at once.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace bottle::egress_proxy {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  /// `expire` ends the pending operations (it closes the socket).
  Deadline(const boost::asio::any_io_executor& executor, std::function<void()> expire)
      : watch_(std::make_shared<Watch>(executor, std::move(expire))) {}
  ~Deadline() {
    watch_->expire = nullptr;
    try {
      watch_->timer.cancel();
    } catch (...) {
      // Not cancelled: it fires at the old deadline and finds the connection gone.
    }
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_after(Clock::duration timeout) {
    watch_->at = Clock::now() + timeout;
    if (!watch_->armed || watch_->at < watch_->timer.expiry()) arm(watch_);
  }
  /// Around every operation: throws the timeout when the deadline has passed.
  void begin() {
    if (watch_->at <= Clock::now()) {
      watch_->expired = true;
      throw boost::system::system_error(boost::beast::error::timeout, "egress connection deadline");
    }
    ++watch_->pending;
  }
  void end() { --watch_->pending; }
  /// Whether the deadline ended an operation (what failed it was the timeout).
  bool expired() const { return watch_->expired; }

 private:
  struct Watch {
    Watch(const boost::asio::any_io_executor& executor, std::function<void()> on_expire)
        : timer(executor), expire(std::move(on_expire)) {}
    boost::asio::steady_timer timer;
    std::function<void()> expire;  ///< empty once the connection is gone
    Clock::time_point at = Clock::time_point::max();
    bool armed = false;
    bool expired = false;
    int pending = 0;
    unsigned generation = 0;
  };

  static void arm(const std::shared_ptr<Watch>& watch) {
    watch->armed = true;
    watch->timer.expires_at(watch->at);
    watch->timer.async_wait([watch, generation = ++watch->generation](const boost::system::error_code&) {
      if (!watch->expire || generation != watch->generation) return;  // gone, or re-armed earlier
      watch->armed = false;
      if (watch->at > Clock::now()) {
        arm(watch);
      } else if (watch->pending > 0) {
        watch->expired = true;
        watch->expire();
      }
    });
  }

  std::shared_ptr<Watch> watch_;
};

/// The deadline counts while one lives.
class Pending {
 public:
  explicit Pending(Deadline& deadline) : deadline_(deadline) { deadline_.begin(); }
  ~Pending() { deadline_.end(); }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

 private:
  Deadline& deadline_;
};

}  // namespace bottle::egress_proxy
