#include "fs/log.h"

#include <syslog.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace docfs::fs {
namespace {
std::atomic<bool> g_syslog{false};
std::atomic<bool> g_debug{false};
std::mutex g_mu;
}  // namespace

void log_init(bool to_syslog, bool debug) {
  g_syslog = to_syslog;
  g_debug = debug;
  if (to_syslog) openlog("docfs", LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled() { return g_debug.load(std::memory_order_relaxed); }

void log_message(LogLevel level, const char* fmt, ...) {
  char text[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (g_syslog) {
    int prio = level == LogLevel::kDebug     ? LOG_DEBUG
               : level == LogLevel::kInfo    ? LOG_INFO
               : level == LogLevel::kWarning ? LOG_WARNING
                                             : LOG_ERR;
    syslog(prio, "%s", text);
    return;
  }
  const char* tag = level == LogLevel::kDebug     ? "debug"
                    : level == LogLevel::kInfo    ? "info"
                    : level == LogLevel::kWarning ? "warning"
                                                  : "error";
  std::lock_guard<std::mutex> lock(g_mu);
  fprintf(stderr, "docfs: %s: %s\n", tag, text);
}

}  // namespace docfs::fs
