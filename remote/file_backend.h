// file:///abs/dir: each key is the file dir/KEY. A push writes a temporary file in the same
// directory, fsyncs it and renames it over the key (then fsyncs the directory), so readers
// and crashes see the old or the new archive, never a mix. Renames and deletes of keys
// happen under an flock on the directory, so a conditional put compares the key's ETag
// and renames without another docfs process (on this machine, or on NFS with working
// locks) replacing the key in between.
#pragma once

#include "remote/backend.h"

namespace docfs::remote {

class FileBackend : public Backend {
 public:
  explicit FileBackend(std::string dir);
  std::string url() const override { return "file://" + dir_; }
  std::vector<ObjectInfo> list() override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  ObjectInfo put(const std::string& key, UploadSource& src, const PutOptions& opts) override;
  Fetched fetch(const std::string& key, const FetchOptions& opts) override;
  bool remove(const std::string& key) override;
  std::string presign(const std::string& key, uint64_t seconds) override;
  ConditionSupport condition_support() override { return ConditionSupport::atomic; }

 private:
  std::optional<ObjectInfo> info_of(const std::string& key, const File* open_file);
  std::string dir_;
};

}  // namespace docfs::remote
