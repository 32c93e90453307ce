// register.mjs - install hooks.mjs for the Thunderbird oracle:
//   node --import ./register.mjs oracle_tb.mjs MODULES_DIR
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
