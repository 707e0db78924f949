// Escape closes what floats over the page (the menu on a phone, the toasts), wherever the focus is.
export function listenForEscape(layout) {
    document.addEventListener('keydown', event => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
            layout.invokeMethodAsync('Escape');
        }
    });
}
