// Timestamps for people: "2026-11-23 19:04" in local time, or ISO 8601 UTC.
#pragma once

#include <cstdint>
#include <string>

namespace docfs {

// `ns` since the epoch through strftime(`format`), in UTC or local time.
std::string format_time(int64_t ns, const char* format, bool utc);
inline std::string local_minutes(int64_t ns) { return format_time(ns, "%Y-%m-%d %H:%M", false); }
inline std::string iso8601_utc(int64_t ns) { return format_time(ns, "%Y-%m-%dT%H:%M:%SZ", true); }

}  // namespace docfs
