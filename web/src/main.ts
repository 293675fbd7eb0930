import { mount } from 'svelte';
import App from './app/App.svelte';
import './app/styles.css';
import './app/hooks';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
export default mount(App, { target });
