// The signer against the example signatures in AWS's S3 SigV4 documentation
// ("Signature Calculations for the Authorization Header: Transferring Payload in a Single
// Chunk" and "Authenticating Requests: Using Query Parameters"): examplebucket,
// AKIAIOSFODNN7EXAMPLE, us-east-1, 2013-05-24T00:00:00Z.
#include <gtest/gtest.h>

#include "remote/crypto.h"
#include "remote/sigv4.h"

using namespace docfs::remote;

namespace {

const std::time_t kExampleTime = 1369353600;  // 20130524T000000Z
const char* kHost = "examplebucket.s3.amazonaws.com";

Credentials example_credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", "test"};
}

std::string header(const SignableRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST(SigV4, AmzDate) { EXPECT_EQ(amz_date(kExampleTime), "20130524T000000Z"); }

TEST(SigV4, UriEncode) {
  EXPECT_EQ(uri_encode("test$file.text", true), "test%24file.text");
  EXPECT_EQ(uri_encode("a b/c~d", true), "a%20b%2Fc~d");
  EXPECT_EQ(uri_encode("a b/c~d", false), "a%20b/c~d");
  EXPECT_EQ(uri_encode("\xc3\xa9", true), "%C3%A9");
}

TEST(SigV4, GetObjectWithRange) {
  SignableRequest r{"GET", "/test.txt", {}, {{"Host", kHost}, {"Range", "bytes=0-9"}}, kEmptySha256};
  std::string names;
  std::string sig = sign_request(r, example_credentials(), {}, kExampleTime);
  EXPECT_EQ(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(header(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(header(r, "x-amz-content-sha256"), kEmptySha256);
  EXPECT_EQ(header(r, "x-amz-date"), "20130524T000000Z");
  // The canonical request as the documentation prints it.
  SignableRequest plain{"GET", "/test.txt", {}, r.headers, kEmptySha256};
  plain.headers.pop_back();  // Authorization
  EXPECT_EQ(canonical_request(plain, &names),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  EXPECT_EQ(sha256_hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SignableRequest r{"PUT",
                    "/" + uri_encode("test$file.text", false),
                    {},
                    {{"Host", kHost},
                     {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                     {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                    sha256_hex(body)};
  EXPECT_EQ(sign_request(r, example_credentials(), {}, kExampleTime),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_NE(header(r, "Authorization")
                .find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"),
            std::string::npos);
}

TEST(SigV4, GetBucketLifecycle) {
  SignableRequest r{"GET", "/", {{"lifecycle", ""}}, {{"Host", kHost}}, kEmptySha256};
  EXPECT_EQ(sign_request(r, example_credentials(), {}, kExampleTime),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsSortsQuery) {
  // Given in the opposite order: the canonical query must sort by name.
  SignableRequest r{"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {{"Host", kHost}}, kEmptySha256};
  EXPECT_EQ(canonical_query(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(sign_request(r, example_credentials(), {}, kExampleTime),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, PresignedGet) {
  SignableRequest r{"GET", "/test.txt", {}, {{"Host", kHost}}, ""};
  std::string q = presign_query(r, example_credentials(), {}, kExampleTime, 86400);
  EXPECT_EQ(q,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, SessionTokenIsSignedAndSent) {
  Credentials c = example_credentials();
  c.session_token = "TOKEN/with+chars";
  SignableRequest r{"GET", "/test.txt", {}, {{"Host", kHost}}, kEmptySha256};
  sign_request(r, c, {}, kExampleTime);
  EXPECT_EQ(header(r, "x-amz-security-token"), "TOKEN/with+chars");
  EXPECT_NE(header(r, "Authorization").find("x-amz-security-token"), std::string::npos);
  std::string q = presign_query({"GET", "/t", {}, {{"Host", kHost}}, ""}, c, {}, kExampleTime, 60);
  EXPECT_NE(q.find("X-Amz-Security-Token=TOKEN%2Fwith%2Bchars"), std::string::npos);
}

TEST(SigV4, EncodedQueryValuesAndBareKeys) {
  // "?uploads" signs as "uploads=", and values are encoded before sorting.
  EXPECT_EQ(canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(canonical_query({{"prefix", "a b/c"}, {"list-type", "2"}, {"continuation-token", "x+y="}}),
            "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2Fc");
}

TEST(Credentials, DescribeHidesTheSecret) {
  Credentials c = example_credentials();
  c.session_token = "SESSIONTOKEN";
  std::string d = c.describe();
  EXPECT_EQ(d.find(c.secret_key), std::string::npos);
  EXPECT_EQ(d.find("SESSIONTOKEN"), std::string::npos);
  EXPECT_EQ(d.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
}

TEST(Credentials, ParseIni) {
  auto ini = parse_ini("# c\n[default]\naws_access_key_id = A\n aws_secret_access_key=B \n[profile x]\nregion=eu-west-1\n");
  EXPECT_EQ(ini["default"]["aws_access_key_id"], "A");
  EXPECT_EQ(ini["default"]["aws_secret_access_key"], "B");
  EXPECT_EQ(ini["profile x"]["region"], "eu-west-1");
}
