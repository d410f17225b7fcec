import Testing
@testable import Tensors

@Suite struct OneDNNLinkTests {
    @Test func linkedLibraryIsOneDNN2() {
        #expect(OneDNN.version.hasPrefix("2."), "expected Debian's oneDNN 2.x, found \(OneDNN.version)")
    }

    @Test func tensorCountMatchesShape() {
        let t = Tensor(shape: [2, 3, 4, 5], repeating: 1)
        #expect(t.count == 120)
        #expect(t.scalars.allSatisfy { $0 == 1 })
    }
}
