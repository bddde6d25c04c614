#include <gtest/gtest.h>

#include "core/error.h"
#include "remote/xml.h"

using namespace docfs::remote;

TEST(Xml, ListObjectsV2) {
  auto root = parse_xml(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>
  <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p/a&amp;b</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size></Contents>
  <Contents><Key>p/c</Key><Size>1</Size></Contents>
  <!-- a comment -->
</ListBucketResult>)");
  EXPECT_EQ(root.name, "ListBucketResult");
  EXPECT_EQ(root.child_text("IsTruncated"), "true");
  EXPECT_EQ(root.child_text("NextContinuationToken"), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  auto contents = root.all("Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0]->child_text("Key"), "p/a&b");
  EXPECT_EQ(contents[0]->child_text("ETag"), "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_EQ(contents[0]->child_text("Size"), "434234");
  EXPECT_EQ(contents[1]->child_text("LastModified"), "");
}

TEST(Xml, ErrorAndMultipart) {
  auto err = parse_xml("<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
                       "does not match &#x2014; check &lt;key&gt;</Message><Empty/></Error>");
  EXPECT_EQ(err.name, "Error");
  EXPECT_EQ(err.child_text("Code"), "SignatureDoesNotMatch");
  EXPECT_EQ(err.child_text("Message"), "The request signature we calculated does not match \xe2\x80\x94 check <key>");
  ASSERT_NE(err.child("Empty"), nullptr);
  auto init = parse_xml("<InitiateMultipartUploadResult xmlns='x'><Bucket>b</Bucket><Key>k</Key>"
                        "<UploadId><![CDATA[VXBsb2FkIElE]]></UploadId></InitiateMultipartUploadResult>");
  EXPECT_EQ(init.child_text("UploadId"), "VXBsb2FkIElE");
  auto done = parse_xml("<s3:CompleteMultipartUploadResult><s3:ETag>\"3858f62230ac3c915f300c664312c11f-9\"</s3:ETag>"
                        "</s3:CompleteMultipartUploadResult>");
  EXPECT_EQ(done.name, "CompleteMultipartUploadResult");
  EXPECT_EQ(done.child_text("ETag"), "\"3858f62230ac3c915f300c664312c11f-9\"");
}

TEST(Xml, Malformed) {
  for (const char* bad : {"", "text", "<a>", "<a></b>", "<a>&bogus;</a>", "<a x=1></a>", "<a></a><b/>",
                          "<a><![CDATA[x</a>", "<a>&#xZZ;</a>"})
    EXPECT_THROW(parse_xml(bad), docfs::FormatError) << bad;
}
