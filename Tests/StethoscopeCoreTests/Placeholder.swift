import Testing
@Test func placeholderStethoscopeCoreTests() { #expect(1 == 1) }
