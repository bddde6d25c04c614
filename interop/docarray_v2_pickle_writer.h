// The other direction of docarray_v2_pickle.h: a DocArray v2 document as the pickle
// DocArray's s3:// store holds (`pickle.dumps(doc)`, protocol 4), written by docfs itself
// from the document's DocProto and class name. The pickle has the structure Python's own
// pickler gives a BaseDoc (class by STACK_GLOBAL, NEWOBJ, a BUILD of pydantic's state dict
// {__dict__, __fields_set__, __private_attribute_values__}; ID / URL / bytes types by NEWOBJ
// of their class; arrays by numpy's _reconstruct and BUILD), without memo entries, so
// DocArray's `pickle.loads` gives back an equal document of the same class and docfs's
// restricted decoder reads it too.
#pragma once

#include <string>
#include <string_view>

namespace docfs::interop {

// `class_name` as the decoder reports it: "TextDoc", "ImageDoc" (any docarray.documents
// class by its name) or "module.Class" for the modules the decoder accepts (a user's class,
// "__main__.MyDoc", or another docarray.* class). Nested documents carry no
// class in a DocProto: TextDoc and ImageDoc are named by their field sets, any other nested
// class is refused. Throws UsageError naming the field when a value has no pickle form docfs
// writes (an unknown class, a tensor type other than numpy's, a non-numeric dtype).
std::string pickle_from_docproto(const std::string& docproto, std::string_view class_name);

}  // namespace docfs::interop
