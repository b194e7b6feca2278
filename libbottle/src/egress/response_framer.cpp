#include "bottle/egress/response_framer.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace bottle {

namespace http = boost::beast::http;
using boost::beast::string_view;
using boost::system::error_code;

// Beast's parser with callbacks that collect the head and hand body bytes straight
// to the caller's buffer, so nothing is held beyond what one feed() brings.
struct ResponseFramer::Parser : http::basic_parser<false> {
  std::optional<ResponseHead> head;
  ResponseHead building;
  std::string* body = nullptr;
  std::string buffered;  // not yet consumed by the parser
  std::string error;
  std::string leftover;
  bool finished = false;

  void on_request_impl(http::verb /*method*/, string_view /*method_str*/, string_view /*target*/, int /*version*/,
                       error_code& /*ec*/) override {}
  void on_response_impl(int code, string_view reason, int version, error_code& /*ec*/) override {
    building.status = code;
    building.reason = std::string(reason);
    building.minor_version = version % 10;
  }
  void on_field_impl(http::field /*name*/, string_view name, string_view value, error_code& /*ec*/) override {
    if (!is_header_done()) building.fields.push_back({std::string(name), std::string(value)});
  }
  void on_header_impl(error_code& /*ec*/) override {
    using Framing = ResponseHead::Framing;
    if (chunked()) {
      building.framing = Framing::chunked;
    } else if (const auto length = content_length()) {
      building.framing = *length == 0 ? Framing::none : Framing::content_length;
      building.content_length = *length;
    } else {
      building.framing = need_eof() ? Framing::until_close : Framing::none;
    }
    if (is_done()) building.framing = Framing::none;
    building.keep_alive = keep_alive();
    head = std::move(building);
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& /*content_length*/, error_code& /*ec*/) override {}
  std::size_t on_body_impl(string_view data, error_code& /*ec*/) override {
    body->append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, string_view /*extensions*/, error_code& /*ec*/) override {}
  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, string_view data, error_code& /*ec*/) override {
    body->append(data.data(), data.size());
    return data.size();
  }
  void on_finish_impl(error_code& /*ec*/) override { finished = true; }
};

ResponseFramer::ResponseFramer(bool head_request, std::size_t max_head_bytes) : parser_(std::make_unique<Parser>()) {
  parser_->skip(head_request);
  parser_->eager(true);
  parser_->body_limit(boost::none);
  parser_->header_limit(static_cast<std::uint32_t>(max_head_bytes));
}

ResponseFramer::~ResponseFramer() = default;

bool ResponseFramer::feed(std::string_view data, std::string& body) {
  Parser& p = *parser_;
  if (!p.error.empty()) return false;
  if (p.finished) {
    p.leftover.append(data);
    return true;
  }
  // Parsed where it lies; only what the parser could not take yet (part of a head or
  // of a chunk line) is kept for the next piece. A download's bytes are not copied here.
  std::string joined;
  std::string_view input = data;
  if (!p.buffered.empty()) {
    joined = std::move(p.buffered).append(data);
    p.buffered.clear();
    input = joined;
  }
  p.body = &body;
  std::size_t used = 0;
  while (used < input.size() && !p.finished) {
    error_code ec;
    const std::size_t n = p.put(boost::asio::const_buffer(input.data() + used, input.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) break;
    if (ec) {
      p.error = ec.message();
      return false;
    }
    if (n == 0) break;
  }
  (p.finished ? p.leftover : p.buffered).append(input.substr(used));
  return true;
}

bool ResponseFramer::end_of_stream() {
  Parser& p = *parser_;
  if (p.finished) return true;
  if (!p.error.empty() || !p.head) return false;
  std::string ignored;
  p.body = &ignored;
  error_code ec;
  p.put_eof(ec);
  if (ec) {
    p.error = ec.message();
    return false;
  }
  return p.finished;
}

const std::optional<ResponseHead>& ResponseFramer::head() const { return parser_->head; }
bool ResponseFramer::done() const { return parser_->finished; }
const std::string& ResponseFramer::error() const { return parser_->error; }
const std::string& ResponseFramer::leftover() const { return parser_->leftover; }

}  // namespace bottle
