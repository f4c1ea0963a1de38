# CMake package config of failsoft's C library.
#
#   find_package(failsoft 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE failsoft::failsoft)          # shared library
#   target_link_libraries(app PRIVATE failsoft::failsoft_static)   # static library
#
# Installed as <prefix>/lib/cmake/failsoft/failsoftConfig.cmake by ffi/install.sh, next to
# <prefix>/include/failsoft.h and <prefix>/lib/libfailsoft.{so,a}; point CMake at it with
# CMAKE_PREFIX_PATH=<prefix> or failsoft_DIR=<prefix>/lib/cmake/failsoft.
#
# Sets failsoft_INCLUDE_DIR, failsoft_LIBRARY (shared), failsoft_STATIC_LIBRARY.

get_filename_component(_failsoft_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(failsoft_INCLUDE_DIR "${_failsoft_prefix}/include")
find_library(failsoft_LIBRARY NAMES failsoft PATHS "${_failsoft_prefix}/lib" NO_DEFAULT_PATH)
find_library(failsoft_STATIC_LIBRARY NAMES libfailsoft.a PATHS "${_failsoft_prefix}/lib" NO_DEFAULT_PATH)

if(NOT EXISTS "${failsoft_INCLUDE_DIR}/failsoft.h" OR (NOT failsoft_LIBRARY AND NOT failsoft_STATIC_LIBRARY))
  set(failsoft_FOUND FALSE)
  set(failsoft_NOT_FOUND_MESSAGE "failsoft.h or libfailsoft not found under ${_failsoft_prefix}")
  return()
endif()

include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)

# What the Rust standard library needs from the system when linked statically
# (`cargo rustc -- --print native-static-libs`).
set(_failsoft_system_libs Threads::Threads ${CMAKE_DL_LIBS} m rt util)

if(failsoft_LIBRARY AND NOT TARGET failsoft::failsoft)
  add_library(failsoft::failsoft SHARED IMPORTED)
  set_target_properties(failsoft::failsoft PROPERTIES
    IMPORTED_LOCATION "${failsoft_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${failsoft_INCLUDE_DIR}")
endif()

if(failsoft_STATIC_LIBRARY AND NOT TARGET failsoft::failsoft_static)
  add_library(failsoft::failsoft_static STATIC IMPORTED)
  set_target_properties(failsoft::failsoft_static PROPERTIES
    IMPORTED_LOCATION "${failsoft_STATIC_LIBRARY}"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${failsoft_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${_failsoft_system_libs}")
endif()

# Only a static library installed: failsoft::failsoft links that one.
if(NOT TARGET failsoft::failsoft AND TARGET failsoft::failsoft_static)
  add_library(failsoft::failsoft INTERFACE IMPORTED)
  set_target_properties(failsoft::failsoft PROPERTIES INTERFACE_LINK_LIBRARIES failsoft::failsoft_static)
endif()

set(failsoft_FOUND TRUE)
unset(_failsoft_prefix)
unset(_failsoft_system_libs)
