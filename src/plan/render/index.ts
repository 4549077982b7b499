export { renderText, renderTextChunks, type RenderTextOptions, type StyleFn, type StyleName } from './text.js';
export { renderJson, renderJsonChunks } from './json.js';
export { renderMarkdown, type RenderMarkdownOptions } from './markdown.js';
export { describeOperation, maskToken, summaryLine, SENSITIVE } from './describe.js';
