// Fuzzes the credentials and config files docfs reads (~/.aws/credentials, ~/.aws/config:
// INI sections, profiles, region, endpoint_url) and key names. The input is split at the
// first NUL into a credentials file and a config file; byte values pick the profile.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "remote/credentials.h"
#include "remote/key_name.h"

namespace {

const std::string& scratch_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/docfs-fuzz-creds-XXXXXX";
    std::string d = ::mkdtemp(tmpl);
    for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                          "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_PROFILE"})
      ::unsetenv(v);
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", (d + "/credentials").c_str(), 1);
    ::setenv("AWS_CONFIG_FILE", (d + "/config").c_str(), 1);
    return d;
  }();
  return dir;
}

void write_all(const std::string& path, const std::string& bytes) {
  docfs::File f = docfs::File::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  f.pwrite(bytes.data(), bytes.size(), 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docfs::remote;
  std::string s(reinterpret_cast<const char*>(data), size);
  parse_ini(s);
  docfs::remote::key_name_problem(s);
  const std::string& dir = scratch_dir();
  size_t nul = s.find('\0');
  std::string creds = s.substr(0, nul), conf = nul == std::string::npos ? "" : s.substr(nul + 1);
  write_all(dir + "/credentials", creds);
  write_all(dir + "/config", conf);
  const char* profiles[] = {"", "default", "dev", "profile dev", "x y"};
  const char* p = profiles[size ? data[size - 1] % 5 : 0];
  if (*p) ::setenv("AWS_PROFILE", p, 1);
  else ::unsetenv("AWS_PROFILE");
  try {
    AwsSettings a = load_aws_settings(size % 3 == 0 ? "" : "http://127.0.0.1:9");
    a.credentials.describe();
  } catch (const docfs::Error&) {
  }
  return 0;
}
