import SwiftletSDK

extension ConfigurationLoader {
    /// Offers the core's async task workers of `settings` to the modules (`AsyncTaskAPI`),
    /// before they load, so that fixups can check for them.
    static func registerAsyncTaskWorkers(
        _ settings: AsyncWorkerSettings, in context: CoreContext, _ diagnostics: inout [ConfigDiagnostic],
        file: String
    ) {
        let groups = AsyncTaskWorkerGroups(settings.groups)
        do throws(FixupError) {
            try context.apis.register(ProvidedAPI(groups, as: AsyncTaskAPI.self), module: "core")
        } catch {
            diagnostics.append(ConfigDiagnostic(error.message, at: SourceLocation(file: file, line: 1, column: 1)))
        }
    }
}

extension LoadedConfiguration {
    /// The core's async task workers (no groups without `async_workers`).
    public var asyncTaskWorkers: AsyncTaskWorkerGroups? {
        context.apis.lookup(AsyncTaskAPI.self) as? AsyncTaskWorkerGroups
    }
}
