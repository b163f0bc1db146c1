// Typings for the aliased older majors the tests run against (installed as npm:express@4 and npm:koa@2).
declare module 'express4' {
  import express from 'express';
  export = express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export = Koa;
}
