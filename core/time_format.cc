#include "core/time_format.h"

#include <ctime>

namespace docfs {

std::string format_time(int64_t ns, const char* format, bool utc) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm;
  if (utc)
    gmtime_r(&t, &tm);
  else
    localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace docfs
