/** The install snippet's stub: static/widget.js's `stub`, copied into dist/stub.js by build.mjs. */
export declare const installStub: (w: Window) => void;
