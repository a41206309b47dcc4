#include "chain/ethereum/abi.h"

#include <algorithm>

namespace treaty::chain::eth::abi {

namespace {

constexpr size_t kWord = 32;

bool IsDynamic(Type t) { return t == Type::kString || t == Type::kBytes32Array || t == Type::kAddressArray; }

std::string_view View(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

void AppendWord(std::string* out, const Hash256& w) { out->append(View(w)); }
void AppendSize(std::string* out, uint64_t v) { AppendWord(out, U256Of(v)); }
void AppendPaddedLeft(std::string* out, std::string_view bytes) {  // bytes.size() <= 32
  out->append(kWord - bytes.size(), '\0');
  out->append(bytes);
}

Status CheckAddress(const std::string& a, std::string_view what) {
  if (a.size() != 20)
    return Status::InvalidArgument(std::string(what) + " is an address of 20 bytes, not " + std::to_string(a.size()));
  return Status::Ok();
}

std::string ArgName(size_t i, Type t) {
  return "ABI argument " + std::to_string(i) + " (" + std::string(TypeName(t)) + ")";
}

// Reads the data strictly; every position is checked before it is read.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  Hash256 WordAt(size_t pos) const {  // pos + 32 <= size, checked by callers
    Hash256 w;
    std::copy_n(data_.data() + pos, kWord, w.begin());
    return w;
  }

  // A word at `pos` read as an offset or a length: it must fit in 64 bits
  // (anything larger cannot be inside the data anyway).
  Result<uint64_t> SizeAt(size_t pos, const std::string& what) const {
    Hash256 w = WordAt(pos);
    if (std::any_of(w.begin(), w.begin() + 24, [](uint8_t b) { return b != 0; }))
      return Status::InvalidArgument(what + " is larger than the data (" + std::to_string(data_.size()) + " bytes)");
    uint64_t v = 0;
    for (size_t i = 24; i < kWord; ++i) v = (v << 8) | w[i];
    return v;
  }

  Result<std::string> AddressAt(size_t pos, const std::string& what) const {
    Hash256 w = WordAt(pos);
    if (std::any_of(w.begin(), w.begin() + 12, [](uint8_t b) { return b != 0; }))
      return Status::InvalidArgument(what + " has non-zero bytes in the padding of an address");
    return std::string(View(w).substr(12));
  }

  // The dynamic value whose head is at `head_pos`.
  Result<Value> DynamicAt(size_t head_pos, Type type, const std::string& what) const {
    const size_t size = data_.size();
    TREATY_ASSIGN_OR_RETURN(uint64_t offset, SizeAt(head_pos, what + "'s offset"));
    if (offset % kWord != 0)
      return Status::InvalidArgument(what + "'s offset " + std::to_string(offset) + " is not a multiple of 32");
    if (offset > size || size - offset < kWord)
      return Status::InvalidArgument(what + "'s offset " + std::to_string(offset) + " leaves no length word in " +
                                     std::to_string(size) + " bytes of data");
    TREATY_ASSIGN_OR_RETURN(uint64_t length, SizeAt(offset, what + "'s length"));
    const size_t start = offset + kWord;
    const size_t room = size - start;
    Value v;
    v.type = type;
    if (type == Type::kString) {
      if (length > room)
        return Status::InvalidArgument(what + "'s length " + std::to_string(length) + " runs past the data (" +
                                       std::to_string(room) + " bytes left)");
      v.bytes.assign(data_.substr(start, length));
      return v;
    }
    if (length > room / kWord)
      return Status::InvalidArgument(what + "'s " + std::to_string(length) + " elements run past the data (" +
                                     std::to_string(room) + " bytes left)");
    for (size_t i = 0; i < length; ++i) {
      const size_t pos = start + i * kWord;
      if (type == Type::kBytes32Array) {
        v.words.push_back(WordAt(pos));
      } else {
        TREATY_ASSIGN_OR_RETURN(std::string a, AddressAt(pos, what + "'s element " + std::to_string(i)));
        v.addresses.push_back(std::move(a));
      }
    }
    return v;
  }

 private:
  std::string_view data_;
};

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kUint256: return "uint256";
    case Type::kAddress: return "address";
    case Type::kBytes32: return "bytes32";
    case Type::kString: return "string";
    case Type::kBytes32Array: return "bytes32[]";
    case Type::kAddressArray: return "address[]";
  }
  return "?";
}

Result<Type> TypeFromName(std::string_view name) {
  for (Type t : {Type::kUint256, Type::kAddress, Type::kBytes32, Type::kString, Type::kBytes32Array,
                 Type::kAddressArray}) {
    if (TypeName(t) == name) return t;
  }
  return Status::InvalidArgument("ABI type `" + std::string(name) + "` is not one this encoder supports");
}

std::string Signature(std::string_view name, const std::vector<Type>& types) {
  std::string s(name);
  s += '(';
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) s += ',';
    s += TypeName(types[i]);
  }
  s += ')';
  return s;
}

std::string Selector(std::string_view signature) { return std::string(View(Keccak256(signature)).substr(0, 4)); }

Hash256 EventTopic(std::string_view signature) { return Keccak256(signature); }

Value Value::Uint256(const U256& v) {
  Value out;
  out.type = Type::kUint256;
  out.word = v;
  return out;
}
Value Value::Address(std::string address) {
  Value out;
  out.type = Type::kAddress;
  out.bytes = std::move(address);
  return out;
}
Value Value::Bytes32(const Hash256& v) {
  Value out;
  out.type = Type::kBytes32;
  out.word = v;
  return out;
}
Value Value::String(std::string s) {
  Value out;
  out.type = Type::kString;
  out.bytes = std::move(s);
  return out;
}
Value Value::Bytes32Array(std::vector<Hash256> v) {
  Value out;
  out.type = Type::kBytes32Array;
  out.words = std::move(v);
  return out;
}
Value Value::AddressArray(std::vector<std::string> v) {
  Value out;
  out.type = Type::kAddressArray;
  out.addresses = std::move(v);
  return out;
}

Result<std::string> Encode(const std::vector<Value>& values) {
  std::string head, tail;
  const size_t head_size = kWord * values.size();
  for (size_t i = 0; i < values.size(); ++i) {
    const Value& v = values[i];
    if (!IsDynamic(v.type)) {
      if (v.type == Type::kAddress) {
        TREATY_RETURN_IF_ERROR(CheckAddress(v.bytes, ArgName(i, v.type)));
        AppendPaddedLeft(&head, v.bytes);
      } else {
        AppendWord(&head, v.word);
      }
      continue;
    }
    AppendSize(&head, head_size + tail.size());
    switch (v.type) {
      case Type::kString:
        AppendSize(&tail, v.bytes.size());
        tail += v.bytes;
        tail.append((kWord - v.bytes.size() % kWord) % kWord, '\0');
        break;
      case Type::kBytes32Array:
        AppendSize(&tail, v.words.size());
        for (const Hash256& w : v.words) AppendWord(&tail, w);
        break;
      default:  // kAddressArray
        AppendSize(&tail, v.addresses.size());
        for (size_t j = 0; j < v.addresses.size(); ++j) {
          TREATY_RETURN_IF_ERROR(CheckAddress(v.addresses[j], ArgName(i, v.type) + "'s element " + std::to_string(j)));
          AppendPaddedLeft(&tail, v.addresses[j]);
        }
        break;
    }
  }
  return head + tail;
}

Result<std::vector<Value>> Decode(const std::vector<Type>& types, std::string_view data) {
  if (data.size() < kWord * types.size())
    return Status::InvalidArgument("ABI data of " + std::to_string(data.size()) + " bytes is shorter than the " +
                                   std::to_string(kWord * types.size()) + "-byte head of " +
                                   std::to_string(types.size()) + " values");
  Reader reader(data);
  std::vector<Value> values;
  values.reserve(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    const size_t pos = i * kWord;
    const std::string what = ArgName(i, types[i]);
    switch (types[i]) {
      case Type::kUint256: values.push_back(Value::Uint256(reader.WordAt(pos))); break;
      case Type::kBytes32: values.push_back(Value::Bytes32(reader.WordAt(pos))); break;
      case Type::kAddress: {
        TREATY_ASSIGN_OR_RETURN(std::string a, reader.AddressAt(pos, what));
        values.push_back(Value::Address(std::move(a)));
        break;
      }
      default: {
        TREATY_ASSIGN_OR_RETURN(Value v, reader.DynamicAt(pos, types[i], what));
        values.push_back(std::move(v));
        break;
      }
    }
  }
  // What Solidity emits is canonical; anything else (trailing bytes,
  // overlapping tails, non-zero padding) did not come from the contract.
  TREATY_ASSIGN_OR_RETURN(std::string canonical, Encode(values));
  if (canonical != data)
    return Status::InvalidArgument("ABI data of " + std::to_string(data.size()) +
                                   " bytes is not the canonical encoding of its values (" +
                                   std::to_string(canonical.size()) + " bytes)");
  return values;
}

Result<uint64_t> ToUint64(const Value& v) {
  if (v.type != Type::kUint256) return Status::InvalidArgument("ABI value is not a uint256");
  if (std::any_of(v.word.begin(), v.word.begin() + 24, [](uint8_t b) { return b != 0; }))
    return Status::InvalidArgument("uint256 value does not fit in 64 bits");
  uint64_t out = 0;
  for (size_t i = 24; i < kWord; ++i) out = (out << 8) | v.word[i];
  return out;
}

}  // namespace treaty::chain::eth::abi
