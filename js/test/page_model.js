// A fake model whose proxies can also `set`, as anywidget's can: the value changes in this page only (no
// `save_changes()`, nothing goes to the kernel), and change listeners run, as Backbone runs them.
import { FakeModel } from './helpers.js';

export class PageModel extends FakeModel {
  /** @param {Record<string, unknown>} [traits] */
  constructor(traits = {}) {
    super(traits);
    /** @type {[string, unknown][]} what the page set on its own model */
    this.pageSets = [];
  }

  proxy() {
    return {
      ...super.proxy(),
      set: (/** @type {string} */ name, /** @type {unknown} */ value) => {
        this.pageSets.push([name, value]);
        this.set(name, value);
      },
    };
  }
}
