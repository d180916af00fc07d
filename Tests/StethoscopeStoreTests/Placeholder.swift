import Testing
@Test func placeholderStethoscopeStoreTests() { #expect(1 == 1) }
