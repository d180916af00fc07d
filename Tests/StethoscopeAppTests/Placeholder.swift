import Testing
@Test func placeholderStethoscopeAppTests() { #expect(1 == 1) }
