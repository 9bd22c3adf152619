"""Browser tests: Debian's Chromium driven through Playwright."""
