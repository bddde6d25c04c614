#include "remote/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

namespace docfs::remote {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string home_file(const char* override_var, const char* rel) {
  if (std::string o = env(override_var); !o.empty()) return o;
  std::string home = env("HOME");
  return home.empty() ? "" : home + "/" + rel;
}

std::optional<std::map<std::string, std::string>> section(const std::string& path, const std::string& name) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  auto ini = parse_ini(ss.str());
  auto it = ini.find(name);
  if (it == ini.end()) return std::nullopt;
  return it->second;
}

// Like ssh with a private key: a file holding a secret that group or others can read gets
// a warning on stderr (once per file and process; the secret is still used).
void warn_if_readable_by_others(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  static std::mutex mu;
  static std::set<std::string> warned;
  std::lock_guard lk(mu);
  if (!warned.insert(path).second) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  std::cerr << "docfs: warning: " << path << " holds a secret key but is accessible by others (mode " << mode
            << "); run: chmod 600 " << path << "\n";
}

}  // namespace

std::string Credentials::describe() const {
  if (empty()) return "no credentials (anonymous requests)";
  std::string id = access_key.size() > 8 ? access_key.substr(0, 4) + "..." + access_key.substr(access_key.size() - 4)
                                         : std::string("****");
  return "access key " + id + " from " + source;
}

std::map<std::string, std::map<std::string, std::string>> parse_ini(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string current;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = trim(line.substr(1, line.size() - 2));
      out[current];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[current][trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

AwsSettings load_aws_settings(const std::string& endpoint) {
  AwsSettings s;
  s.profile = env("AWS_PROFILE");
  if (s.profile.empty()) s.profile = env("AWS_DEFAULT_PROFILE");
  const bool explicit_profile = !s.profile.empty();
  if (s.profile.empty()) s.profile = "default";

  const std::string cred_path = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
  const std::string conf_path = home_file("AWS_CONFIG_FILE", ".aws/config");
  auto creds_sec = section(cred_path, s.profile);
  // ~/.aws/config names non-default profiles "[profile NAME]".
  auto conf_sec = section(conf_path, s.profile == "default" ? "default" : "profile " + s.profile);
  if (!conf_sec && s.profile != "default") conf_sec = section(conf_path, s.profile);

  // An explicit AWS_PROFILE beats keys in the environment, as in the AWS CLI.
  if (!explicit_profile && !env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty()) {
    s.credentials = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"), "environment"};
  } else {
    for (auto [sec, path] : {std::pair{&creds_sec, &cred_path}, std::pair{&conf_sec, &conf_path}}) {
      if (!*sec) continue;
      auto& m = **sec;
      if (m.count("aws_access_key_id") && m.count("aws_secret_access_key")) {
        warn_if_readable_by_others(*path);
        s.credentials = {m["aws_access_key_id"], m["aws_secret_access_key"], m["aws_session_token"],
                         "profile " + s.profile + " in " + *path};
        break;
      }
    }
  }

  if (std::string r = env("AWS_REGION"); !r.empty()) s.region = r;
  else if (std::string r2 = env("AWS_DEFAULT_REGION"); !r2.empty()) s.region = r2;
  else if (conf_sec && conf_sec->count("region")) s.region = conf_sec->at("region");

  if (!endpoint.empty()) s.endpoint = endpoint;
  else if (std::string e = env("AWS_ENDPOINT_URL_S3"); !e.empty()) s.endpoint = e;
  else if (std::string e2 = env("AWS_ENDPOINT_URL"); !e2.empty()) s.endpoint = e2;
  else if (conf_sec && conf_sec->count("endpoint_url")) s.endpoint = conf_sec->at("endpoint_url");
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  return s;
}

}  // namespace docfs::remote
