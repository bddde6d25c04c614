// Push a store to a key, pull a key (or a presigned URL) into a store, delete expired keys.
// What the CLI commands and the FUSE daemon's .remote/ folder call.
#pragma once

#include <string>
#include <vector>

#include "remote/archive.h"
#include "remote/backend.h"

namespace docfs::remote {

struct PushOptions {
  uint64_t ttl_seconds = 0;  // 0: never expires
  Progress* progress = nullptr;
  // Replace the key only if it still is `if_match` / does not exist (ConditionFailed).
  PutCondition condition = PutCondition::none;
  std::string if_match;
};

struct PushResult {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  ObjectInfo info;
};

// Packs the store at `store_dir` (opened read-only: works beside a mount) under `key`.
PushResult push_store(const std::string& store_dir, Backend& backend, const std::string& key,
                      const PushOptions& opts);

struct PullOptions {
  uint64_t max_bytes = 0;  // 0: no limit; checked before downloading
  Progress* progress = nullptr;
};

struct PullResult {
  uint64_t documents = 0;
  uint64_t bytes = 0;
  ObjectInfo info;
};

// Pulls `key` into the store directory `dest` (created, or an existing unlocked store
// replaced atomically). Expired keys are refused with the time they expired.
PullResult pull_store(Backend& backend, const std::string& key, const std::string& dest, const PullOptions& opts);
// Same from a presigned (or any plain http/https) URL, with no credentials.
PullResult pull_url(const std::string& url, const std::string& dest, const PullOptions& opts,
                    const BackendOptions& http_opts = {});

// Keys that are not expired, sorted by name.
std::vector<ObjectInfo> live_keys(Backend& backend);
// Deletes expired keys; returns their names.
std::vector<std::string> delete_expired(Backend& backend);

// "2024-05-01 12:00:00 UTC".
std::string format_utc(int64_t ns);

}  // namespace docfs::remote
