// GLSL ES 3.0 sources. One program draws every point as an instanced quad: colour from a palette
// texture (category code), a ramp texture (continuous value) or a constant; in the pick pass the
// colour is the instance id + 1 instead.

export const POINT_VS = `#version 300 es
precision highp float;
precision highp int;
layout(location = 0) in vec2 a_corner;
layout(location = 1) in vec3 a_pos;
layout(location = 2) in vec3 a_prev;
layout(location = 3) in uint a_code;
layout(location = 4) in float a_value;
// 0 drawn as usual, 1 dimmed (not matched / not selected), 3 hidden (isolated away).
layout(location = 5) in uint a_flag;
uniform mat4 u_viewProj;
uniform vec2 u_viewport;
uniform float u_size;
uniform float u_mix;
uniform int u_mode;
uniform highp sampler2D u_palette;
uniform highp sampler2D u_ramp;
uniform vec2 u_domain;
uniform vec4 u_constant;
uniform float u_alpha;
uniform bool u_pick;
out vec4 v_color;
out vec2 v_corner;
void main() {
  vec4 color;
  if (u_mode == 0) {
    int c = int(a_code);
    color = texelFetch(u_palette, ivec2(c % 256, c / 256), 0);
  } else if (u_mode == 1) {
    float span = u_domain.y - u_domain.x;
    float t = span > 0.0 ? clamp((a_value - u_domain.x) / span, 0.0, 1.0) : 0.5;
    color = isnan(a_value) ? vec4(0.78, 0.79, 0.8, 1.0) : texture(u_ramp, vec2(t * (255.0 / 256.0) + 0.5 / 256.0, 0.5));
  } else {
    color = u_constant;
  }
  if (color.a == 0.0 || a_flag == 3u) {
    // Hidden category: put the quad outside the clip volume so it is never rasterised.
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    v_color = vec4(0.0);
    v_corner = vec2(0.0);
    return;
  }
  vec4 clip = u_viewProj * vec4(mix(a_prev, a_pos, u_mix), 1.0);
  clip.xy += a_corner * (u_size / u_viewport) * clip.w;
  gl_Position = clip;
  v_corner = a_corner;
  if (u_pick) {
    uint id = uint(gl_InstanceID) + 1u;
    v_color = vec4(float(id & 255u), float((id >> 8) & 255u), float((id >> 16) & 255u), 255.0) / 255.0;
  } else if (a_flag == 1u) {
    // Dimmed: a pale grey-tinted ghost, so matches and selections stand out.
    float a = min(u_alpha, 0.35) * 0.45;
    v_color = vec4(mix(color.rgb, vec3(0.72, 0.74, 0.78), 0.65) * a, a);
  } else {
    v_color = vec4(color.rgb * u_alpha, u_alpha);
  }
}
`;

export const POINT_FS = `#version 300 es
precision highp float;
in vec4 v_color;
in vec2 v_corner;
uniform bool u_pick;
uniform float u_size;
out vec4 outColor;
void main() {
  // Points of a few pixels are drawn as full squares: a disc that small is mostly edge and would
  // fade to nothing; larger ones are discs with about one pixel of antialiased edge.
  float d = length(v_corner);
  bool tiny = u_size < 3.5;
  if (!tiny && d > 1.0) discard;
  if (u_pick) {
    outColor = v_color;
    return;
  }
  float edge = tiny ? 1.0 : clamp((1.0 - d) * u_size * 0.5, 0.0, 1.0);
  outColor = v_color * edge;
}
`;

// Lines from a clicked point to its neighbours: plain GL lines, drawn a few times with sub-pixel
// offsets (u_offset, clip units) because WebGL line width is always 1 px.
export const LINE_VS = `#version 300 es
precision highp float;
layout(location = 0) in vec3 a_pos;
uniform mat4 u_viewProj;
uniform vec2 u_offset;
void main() {
  vec4 clip = u_viewProj * vec4(a_pos, 1.0);
  clip.xy += u_offset * clip.w;
  gl_Position = clip;
}
`;

export const LINE_FS = `#version 300 es
precision highp float;
uniform vec4 u_color;
out vec4 outColor;
void main() {
  outColor = u_color;
}
`;
