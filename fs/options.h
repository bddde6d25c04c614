// Mount options: what `docfs mount ... -o a,b=c` and mount(8)/fstab pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace docfs::fs {

struct MountOptions {
  std::string store_dir;   // absolute path
  // Set when store_dir is a private copy converted from a foreign store (a Jina DAM) for
  // this mount only: the daemon unlinks its files once open and removes it at unmount.
  bool store_is_private_copy = false;
  std::string mountpoint;  // absolute path
  bool foreground = false;
  bool debug = false;      // log every request (implies foreground)
  bool read_only = false;  // ro: the store is opened read-only (a snapshot, no lock)
  // Shown instead of each document's own owner / mode bits (uid=, gid=, umask=).
  std::optional<uint32_t> uid, gid, umask;
  // Long by default: every change goes through this daemon, which tells the kernel about
  // the ones it makes on its own (fs/filesystem.h, SEMANTICS.md "Metadata caching").
  // Under .remote/ at most kRemoteCacheSeconds (fs/filesystem.h).
  double attr_timeout = 86400.0;
  double entry_timeout = 86400.0;
  // Background compaction: prune when garbage > compact_ratio * body.bin and garbage >
  // compact_min bytes. compact_min=0 with compact_ratio=0 prunes at the first check.
  uint64_t compact_min = 64ull << 20;
  double compact_ratio = 0.5;
  double compact_interval = 2.0;  // seconds between checks
  uint64_t stage_memory = 8ull << 20;  // staged bytes per file kept in RAM
  std::string fsname;                  // default: the store path
  // .remote/: the remote its keys live on (empty: remote::default_remote_url()), the S3
  // endpoint (empty: AWS_ENDPOINT_URL / profile), how often a cached key is revalidated
  // and the listing refreshed, and the quiet time before a background push.
  std::string remote_url;
  std::string remote_endpoint;
  double remote_ttl = 5.0;
  double push_delay = 2.0;
  // The format of a key made with mkdir under .remote/: false, docfs's archive (a name
  // ending in .docs is refused); true (remote_format=docarray), DocArray's NAME.docs (only
  // such names). Existing keys keep the format they were pulled in.
  bool remote_docarray = false;
  std::vector<std::string> fuse_options;  // passed through to libfuse (allow_other, ...)
};

// Adds one -o argument (comma separated, "\," escapes a comma) to `opts`.
// Throws UsageError(EINVAL) on a malformed value.
void parse_mount_options(const std::string& text, MountOptions& opts);

// The -o string for libfuse: fsname, subtype and the pass-through options.
std::string libfuse_options(const MountOptions& opts);

}  // namespace docfs::fs
