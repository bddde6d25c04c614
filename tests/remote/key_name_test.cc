#include <gtest/gtest.h>

#include "core/error.h"
#include "remote/key_name.h"

using namespace docfs::remote;

TEST(KeyName, Valid) {
  for (const char* k : {"a", "week48", "my.array_v2-final", "...", ".hidden", "A-Z_0.9"})
    EXPECT_TRUE(is_valid_key_name(k)) << k;
  EXPECT_TRUE(is_valid_key_name(std::string(255, 'k')));
}

TEST(KeyName, Invalid) {
  for (const char* k : {"", ".", "..", "a/b", "../x", "a b", "a\\b", "x%2F", "caf\xc3\xa9", "a\nb", "a:b"})
    EXPECT_FALSE(is_valid_key_name(k)) << k;
  EXPECT_FALSE(is_valid_key_name(std::string(256, 'k')));
  EXPECT_NE(key_name_problem(std::string(256, 'k')).find("256 bytes"), std::string::npos);
  EXPECT_NE(key_name_problem("a/b").find("'/'"), std::string::npos);
  EXPECT_THROW(check_key_name(".."), docfs::UsageError);
}
