fn main() {
    println!("flashpoint: under construction");
}
