# The HTTP/JSON front door's build (docs/protocols/http.md): libmicrohttpd and jansson, the
# OpenAPI document embedded in the binary, and the Swagger UI assets fetched from npm.
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
target_link_libraries(stoa_proto PUBLIC PkgConfig::JANSSON)
target_link_libraries(stoa_server PUBLIC PkgConfig::MHD)

# docs/openapi.json as a C array in stoa_proto (proto/http_openapi.h); rebuilt when it changes.
set(STOA_OPENAPI_SOURCE ${CMAKE_SOURCE_DIR}/docs/openapi.json)
set(STOA_OPENAPI_C ${CMAKE_BINARY_DIR}/generated/http_openapi.c)
add_custom_command(
  OUTPUT ${STOA_OPENAPI_C}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${STOA_OPENAPI_SOURCE} -DOUTPUT=${STOA_OPENAPI_C}
          -DSYMBOL=stoa_http_openapi_json -DHEADER=proto/http_openapi.h
          -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${STOA_OPENAPI_SOURCE} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  COMMENT "Embedding docs/openapi.json")
target_sources(stoa_proto PRIVATE ${STOA_OPENAPI_C})

# Swagger UI: npm's swagger-ui-dist, pinned by web/package-lock.json, installed into
# web/node_modules by web/install.sh (npm ci, under a lock, only when the lock file changed).
# The node serves the files from there (or from http.swaggerDir); nothing is fetched at run
# time. Without npm the build goes on and /swagger/ answers 404 with the reason.
set(STOA_SWAGGER_DIR ${CMAKE_SOURCE_DIR}/web/node_modules/swagger-ui-dist)
target_compile_definitions(stoa_server PRIVATE STOA_SWAGGER_DIR_DEFAULT="${STOA_SWAGGER_DIR}")
find_program(STOA_NPM npm)
if(STOA_NPM)
  add_custom_target(web_assets ALL
    COMMAND ${CMAKE_SOURCE_DIR}/web/install.sh
    COMMENT "Swagger UI assets (web/node_modules, npm ci when web/package-lock.json changed)"
    VERBATIM)
else()
  message(WARNING "npm not found: the Swagger UI assets will not be installed")
endif()
