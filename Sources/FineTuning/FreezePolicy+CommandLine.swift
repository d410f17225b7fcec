/// The command-line spelling of a freeze policy (`graft finetune --freeze`), beside the JSON one.
import Foundation

extension FreezePolicy {
    /// `auto`, `backbone`, `none`, `until:<node>` or `layers:<N>`; nil for anything else.
    public init?(commandLine text: String) {
        if text == "auto" { self = .auto }
        else if text == "backbone" { self = .backbone }
        else if text == "none" { self = .none }
        else if text.hasPrefix("until:"), text.count > 6 { self = .until(String(text.dropFirst(6))) }
        else if text.hasPrefix("layers:"), let n = Int(text.dropFirst(7)) { self = .trainableLayers(n) }
        else { return nil }
    }
}
