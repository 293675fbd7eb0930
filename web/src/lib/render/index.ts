export * from './camera2d';
export * from './camera3d';
export * from './colors';
export * from './density';
export * from './picking';
export * from './renderer';
export * from './interaction';
