// Credentials and endpoint settings, found the way the AWS CLI finds them: environment
// variables first, then the profile in ~/.aws/credentials and ~/.aws/config.
// Nothing here prints or logs a secret: use describe() for messages.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace docfs::remote {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string source;  // "environment", "profile default in ~/.aws/credentials", ...
  bool empty() const { return access_key.empty() || secret_key.empty(); }
  // "access key AKIA...MPLE from environment": never the secret or the token.
  std::string describe() const;
};

struct AwsSettings {
  Credentials credentials;  // empty: send unsigned (anonymous) requests
  std::string region = "us-east-1";
  std::string endpoint;  // "" = AWS itself (virtual-hosted style)
  std::string profile;
};

// Reads the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_PROFILE, AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
// AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE) and the profile files. `endpoint`, when not
// empty, wins over everything else (the --endpoint option).
AwsSettings load_aws_settings(const std::string& endpoint = "");

// Parses an INI file into section -> key -> value (exposed for tests).
std::map<std::string, std::map<std::string, std::string>> parse_ini(const std::string& text);

}  // namespace docfs::remote
