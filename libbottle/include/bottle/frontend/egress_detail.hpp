#pragma once
// The dashboard's egress detail view (key `l`): the selected bottle's latest egress
// audit records as screen lines, newest at the bottom, blocked and refused ones
// flagged for highlighting. Pure: the worker reads the records
// (recent_egress_records), the view only draws these lines.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/egress_audit.hpp"

namespace bottle {

/// The most records the worker hands the detail view: more than any screen shows.
inline constexpr std::size_t egress_detail_max_records = 1000;

/// One line of the detail view.
struct EgressDetailLine {
  std::string text;    ///< printable ASCII only, at most the width asked for
  bool alert = false;  ///< a blocked or refused record: drawn highlighted
  bool operator==(const EgressDetailLine&) const = default;
};

/// The lines for `records` (oldest first, as recent_egress_records returns them) on a
/// screen area `width` columns wide and `height` lines high: the newest `height`
/// records, newest last, each as format_audit_record (control bytes escaped), cut to
/// `width` (a cut line ends in '~'). No records: the single line
/// "no egress records yet". A zero width or height: no lines.
std::vector<EgressDetailLine> egress_detail_lines(const std::vector<AuditRecord>& records, std::size_t width,
                                                  std::size_t height);

/// The view's title, cut to `width` like a line:
///   " egress log: NAME  3 records, newest last  (l, Esc or q: back)"
/// NAME is escaped like a record field.
std::string egress_detail_title(std::string_view name, std::size_t count, std::size_t width);

}  // namespace bottle
