"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.GEN_SHIFT = exports.HAS_ERROR = exports.BROKEN = exports.COLD = exports.FAILED = exports.FALLBACK = exports.SNAPSHOT = exports.STALE = exports.FRESH = exports.READ_WARM_ONLY = exports.READ_FALLBACK = exports.native = void 0;
function load() {
    try {
        return require('../failsoft.node');
    }
    catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new Error(`failsoft: the native addon failsoft.node could not be loaded (${why}). ` +
            'Build it with `npm run build` in the failsoft package (needs Rust and cargo).');
    }
}
/** @internal */
exports.native = load();
// `flags` of a read: the caller has a fallback; answer COLD rather than run a read that is not warm.
/** @internal */ exports.READ_FALLBACK = 1;
/** @internal */ exports.READ_WARM_ONLY = 2;
// A read code: where the answer came from in bits 0-2, HAS_ERROR, then the payload generation.
/** @internal */ exports.FRESH = 0;
/** @internal */ exports.STALE = 1;
/** @internal */ exports.SNAPSHOT = 2;
/** @internal */ exports.FALLBACK = 3;
/** @internal */ exports.FAILED = 4;
/** @internal */ exports.COLD = 5;
/** @internal A call that could not run (a bug): never an answer about the key. */ exports.BROKEN = 7;
/** @internal */ exports.HAS_ERROR = 8;
/** @internal */ exports.GEN_SHIFT = 4;
