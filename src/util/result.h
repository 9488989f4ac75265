#pragma once
// Errors as values: a Result<T> holds either a T or an Error with a message a person understands.
#include <string>
#include <utility>
#include <variant>

namespace cs {

struct Error {
  std::string message;
};

/// Either a value or an error of type E (the project's one value-or-error type; whop::ApiResult
/// uses it with the Whop client's richer ApiError).
template <class T, class E>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(E e) : v_(std::move(e)) {}          // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

/// A value or an Error; error() is the message.
template <class T>
class Result : public Expected<T, Error> {
 public:
  using Expected<T, Error>::Expected;
  const std::string& error() const { return Expected<T, Error>::error().message; }
};

/// Result for operations that return nothing on success.
struct Ok {};
using Status = Result<Ok>;

}  // namespace cs
