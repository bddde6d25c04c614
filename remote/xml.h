// A minimal XML reader for S3 responses (ListObjectsV2, Error, InitiateMultipartUpload,
// CompleteMultipartUpload): elements, text, entities, CDATA; attributes and namespaces are
// read and ignored. Not a validating parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace docfs::remote {

struct XmlNode {
  std::string name;  // local name: "s3:Key" -> "Key"
  std::string text;  // concatenated character data directly inside this element
  std::vector<XmlNode> children;

  // First child with that name, or nullptr.
  const XmlNode* child(std::string_view n) const;
  // The text of the first child with that name, or "".
  std::string child_text(std::string_view n) const;
  std::vector<const XmlNode*> all(std::string_view n) const;
};

// Parses a document and returns its root element. Throws FormatError on malformed input.
XmlNode parse_xml(std::string_view doc);

}  // namespace docfs::remote
