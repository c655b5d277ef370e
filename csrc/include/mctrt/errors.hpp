// mctrt's own C++ errors. Bad arguments throw std::invalid_argument (Python sees ValueError);
// everything else that can go wrong at run time derives from mctrt::Error, and the bindings
// translate each class to its counterpart in mctrt.errors. Nothing here ever exits or aborts.
#pragma once

#include <stdexcept>
#include <string>

namespace mctrt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A CUDA runtime call or kernel launch failed; the message names the file, line and CUDA's reason.
class CudaError : public Error {
 public:
  using Error::Error;
};

}  // namespace mctrt
