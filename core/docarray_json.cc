#include "core/docarray_json.h"

#include <cereal/external/base64.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace docfs {
namespace {

using nlohmann::json;

bool is_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 4;
    if (extra == 4 || s.size() - i - 1 < extra) return false;
    for (size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

bool is_base64(const std::string& s) {
  if (s.size() % 4 != 0) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' ||
              (c == '=' && i >= s.size() - 2);
    if (!ok) return false;
  }
  return true;
}

constexpr const char* kModeTag = "docfs.mode";
constexpr const char* kRdevTag = "docfs.rdev";

}  // namespace

size_t export_docarray_json(const Store& store, std::ostream& out) {
  size_t n = 0;
  out << "[";
  for (const std::string& id : store.ids()) {
    auto doc = store.get(id);
    if (!doc || doc->meta.is_directory_marker()) continue;
    const DocumentMeta& m = doc->meta;
    json j;
    j["id"] = m.id;
    bool text = (m.mime_type.empty() || m.mime_type.rfind("text/", 0) == 0) && is_utf8(doc->content);
    if (text) {
      j["text"] = doc->content;
    } else {
      j["blob"] = cereal::base64::encode(reinterpret_cast<const unsigned char*>(doc->content.data()),
                                         static_cast<unsigned>(doc->content.size()));
    }
    if (!m.mime_type.empty()) j["mime_type"] = m.mime_type;
    if (!m.uri.empty()) j["uri"] = m.uri;
    j["tags"] = m.tags;
    // DocArray has no file types: a symlink, FIFO, socket or device says what it is in two
    // tags, which import turns back into the mode (and device number).
    if (uint32_t type = m.mode & 0170000; type != 0100000 && type != 0) {
      char mode[16];
      std::snprintf(mode, sizeof mode, "%o", m.mode);
      j["tags"][kModeTag] = mode;
      if (m.rdev) j["tags"][kRdevTag] = std::to_string(m.rdev);
    }
    if (!m.embedding.empty()) j["embedding"] = m.embedding;
    out << (n++ ? ",\n" : "\n") << j.dump();
  }
  out << (n ? "\n]\n" : "]\n");
  return n;
}

size_t import_docarray_json(Store& store, std::istream& in) {
  json arr;
  try {
    arr = json::parse(in);
  } catch (const json::exception& e) {
    throw UsageError(EINVAL, std::string("not valid JSON: ") + e.what());
  }
  if (!arr.is_array()) throw UsageError(EINVAL, "expected a JSON array of documents");
  std::vector<Document> docs;
  docs.reserve(arr.size());
  const int64_t now = now_ns();
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& j = arr[i];
    auto fail = [&](const std::string& why) {
      return UsageError(EINVAL, "document " + std::to_string(i) + ": " + why);
    };
    try {
      if (!j.is_object()) throw fail("not an object");
      Document d;
      if (!j.contains("id") || !j["id"].is_string()) throw fail("no string \"id\"");
      d.meta.id = j["id"].get<std::string>();
      if (IdError e = check_id(d.meta.id); e != IdError::kOk) throw fail(describe_id_error(e, d.meta.id));
      if (j.contains("text") && j["text"].is_string()) {
        d.content = j["text"].get<std::string>();
      } else {
        for (const char* key : {"blob", "buffer"}) {
          if (j.contains(key) && j[key].is_string()) {
            std::string b64 = j[key].get<std::string>();
            if (!is_base64(b64)) throw fail(std::string("\"") + key + "\" is not base64");
            d.content = cereal::base64::decode(b64);
            break;
          }
        }
      }
      if (j.contains("mime_type") && j["mime_type"].is_string()) d.meta.mime_type = j["mime_type"];
      if (j.contains("uri") && j["uri"].is_string()) d.meta.uri = j["uri"];
      if (j.contains("tags") && j["tags"].is_object()) {
        for (const auto& [k, v] : j["tags"].items())
          d.meta.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
      if (auto it = d.meta.tags.find(kModeTag); it != d.meta.tags.end()) {
        char* end = nullptr;
        unsigned long mode = std::strtoul(it->second.c_str(), &end, 8);
        uint32_t type = static_cast<uint32_t>(mode) & 0170000;
        if (*end || mode > 0177777 || type == 0040000 || type == 0)
          throw fail("tag " + std::string(kModeTag) + " is not a file mode");
        d.meta.mode = static_cast<uint32_t>(mode);
        d.meta.tags.erase(it);
        if (auto r = d.meta.tags.find(kRdevTag); r != d.meta.tags.end()) {
          d.meta.rdev = std::strtoull(r->second.c_str(), nullptr, 10);
          d.meta.tags.erase(r);
        }
      }
      if (j.contains("embedding") && j["embedding"].is_array()) {
        for (const json& x : j["embedding"]) {
          if (!x.is_number()) throw fail("\"embedding\" has a non-number");
          d.meta.embedding.push_back(x.get<float>());
        }
      }
      d.meta.mtime_ns = d.meta.ctime_ns = now;
      docs.push_back(std::move(d));
    } catch (const json::exception& e) {
      throw fail(e.what());
    }
  }
  store.extend(docs);
  return docs.size();
}

}  // namespace docfs
