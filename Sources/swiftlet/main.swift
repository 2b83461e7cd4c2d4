import SwiftletRuntime

#if canImport(Glibc)
    import Glibc
#endif

// The server executable is thin: everything lives in SwiftletCore's runtime.
exit(Server.main(arguments: Array(CommandLine.arguments.dropFirst())))
