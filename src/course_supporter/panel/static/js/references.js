// Where the materials explain something: a link for a web address, a label for a page, a
// slide or a video timecode (those open only with the key, so they are named, not linked).
import { h, safeLink } from "./dom.js";

function materialName(materials, id) {
  const material = materials.get(id);
  if (!material) return "a removed material";
  return material.filename || material.source_url || "material";
}

/** One reference: {material_id, concept?} with one of page, slide, timecode, url. */
export function reference(materials, ref) {
  const source = materialName(materials, ref.material_id);
  const name = ref.concept ? `${ref.concept}: ${source}` : source;
  if (ref.url) {
    return h("li", { class: "ref ref-web" }, ref.concept ? `${ref.concept}: ` : null, safeLink(ref.url, ref.url));
  }
  if (ref.page) return h("li", { class: "ref ref-page" }, `${name}, page ${ref.page}`);
  if (ref.slide) return h("li", { class: "ref ref-slide" }, `${name}, slide ${ref.slide}`);
  if (ref.timecode) return h("li", { class: "ref ref-video" }, `${name} at ${ref.timecode}`);
  return h("li", { class: "ref" }, name);
}

export function conceptReferences(materials, concept) {
  return [
    ...concept.page_references,
    ...concept.slide_references,
    ...concept.timecodes,
    ...concept.web_references,
  ].map((ref) => reference(materials, ref));
}

export function lessonReferences(materials, lesson) {
  const items = [];
  if (lesson.video_material_id) {
    const span = [lesson.video_start, lesson.video_end].filter(Boolean).join("–");
    const name = materialName(materials, lesson.video_material_id);
    items.push(h("li", { class: "ref ref-video" }, span ? `${name} at ${span}` : name));
  }
  if (lesson.slides_material_id) {
    const name = materialName(materials, lesson.slides_material_id);
    const range =
      lesson.slide_end && lesson.slide_end !== lesson.slide_start
        ? `slides ${lesson.slide_start}–${lesson.slide_end}`
        : `slide ${lesson.slide_start}`;
    items.push(h("li", { class: "ref ref-slide" }, lesson.slide_start ? `${name}, ${range}` : name));
  }
  return items;
}
