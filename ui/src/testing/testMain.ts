// Test-only entry (test.html): routes every invoke to the in-memory fake, then mounts the real app.
import { mockIPC } from "@tauri-apps/api/mocks";
import { createFakeBackend, type FakeBackend, type FakeSeed } from "./fakeBackend";

declare global {
  interface Window {
    __TANDEM_FAKE_SEED__?: FakeSeed;
    __tandemFake?: FakeBackend;
  }
}

const fake = createFakeBackend(window.__TANDEM_FAKE_SEED__);
window.__tandemFake = fake;
mockIPC((cmd, args) => fake.handle(cmd, args as Record<string, unknown> | undefined));
await import("../main");
