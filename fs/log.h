// Daemon logging: stderr in the foreground, syslog once daemonized. Thread-safe.
#pragma once

namespace docfs::fs {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Call once before the first message. `debug` enables kDebug messages.
void log_init(bool to_syslog, bool debug);
bool log_debug_enabled();
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define DOCFS_LOG_DEBUG(...)                                                          \
  do {                                                                              \
    if (::docfs::fs::log_debug_enabled())                                           \
      ::docfs::fs::log_message(::docfs::fs::LogLevel::kDebug, __VA_ARGS__);         \
  } while (0)
#define DOCFS_LOG_INFO(...) ::docfs::fs::log_message(::docfs::fs::LogLevel::kInfo, __VA_ARGS__)
#define DOCFS_LOG_WARN(...) ::docfs::fs::log_message(::docfs::fs::LogLevel::kWarning, __VA_ARGS__)
#define DOCFS_LOG_ERROR(...) ::docfs::fs::log_message(::docfs::fs::LogLevel::kError, __VA_ARGS__)

}  // namespace docfs::fs
