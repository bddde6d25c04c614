// Mounting: open the store, create the FUSE session, daemonize once the mount works,
// serve until unmounted or signalled, then flush, sync and release the store lock.
#pragma once

#include "fs/options.h"

namespace docfs::fs {

// Returns the exit code for the command. When daemonizing, the calling process returns
// 0 only after the mount is ready (or 1 with the reason on stderr); the daemon process
// itself exits from inside run_mount when the filesystem is unmounted.
int run_mount(const MountOptions& opts);

}  // namespace docfs::fs
