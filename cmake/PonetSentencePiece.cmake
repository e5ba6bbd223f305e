# libponet_spm.so: SentencePiece in a module of its own (TOOLCHAIN.md §5.1). Debian's libsentencepiece carries
# protobuf 3.14 and crashes any process that also links LibTorch's protobuf, so `sentencepiece` must never be
# on the link line of a target that links torch; the core dlopen()s this module with RTLD_DEEPBIND instead.
# Include after add_subdirectory(core) (it sets properties on core sources) and before tests (they look for
# the target). Without libsentencepiece-dev the build goes on and SentencePiece reports itself unavailable.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SentencePiece QUIET IMPORTED_TARGET sentencepiece)
endif()

set(_ponet_spm_client ${PROJECT_SOURCE_DIR}/core/text/sentencepiece_tokenizer.cpp)
# The core's torch-free text sources skip the LibTorch PCH (it only slows them down).
foreach(_src unicode.cpp unicode_tables.cpp wordpiece.cpp byte_tokenizer.cpp tokenizer.cpp sentencepiece_tokenizer.cpp)
  set_source_files_properties(${PROJECT_SOURCE_DIR}/core/text/${_src} DIRECTORY ${PROJECT_SOURCE_DIR}/core
                              PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endforeach()

if(SentencePiece_FOUND)
  message(STATUS "PoNet: SentencePiece ${SentencePiece_VERSION} in the libponet_spm.so module")
  add_library(ponet_spm MODULE ${PROJECT_SOURCE_DIR}/core/spm/spm_module.cpp)
  target_include_directories(ponet_spm PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(ponet_spm PRIVATE PkgConfig::SentencePiece ponet_warnings)
  set_target_properties(ponet_spm PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    AUTOMOC OFF AUTOUIC OFF AUTORCC OFF
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})  # next to `ponet`, the first place the core looks
  set_source_files_properties(${PROJECT_SOURCE_DIR}/core/spm/spm_module.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  # Whatever links the core can tokenize with SentencePiece as soon as it is built.
  add_dependencies(ponet_core ponet_spm)
  install(TARGETS ponet_spm LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/ponet-studio)
  set_source_files_properties(${_ponet_spm_client} DIRECTORY ${PROJECT_SOURCE_DIR}/core PROPERTIES
    COMPILE_DEFINITIONS "PONET_SPM_MODULE_BUILD=\"$<TARGET_FILE:ponet_spm>\";PONET_SPM_MODULE_RELDIR=\"${CMAKE_INSTALL_LIBDIR}/ponet-studio\"")
else()
  message(STATUS "PoNet: SentencePiece not found (pkg-config sentencepiece); SentencePiece tokenizers are unavailable")
endif()
