"""The offline tests, and the fixtures the benchmarks share with them (`tests.sitegen`,
`tests.gold`, the fixture site): a package, so both import them by name from the repository
root."""
